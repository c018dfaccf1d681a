"""The seed demo, rebuilt for the bench: FastAPI + PyNaCl, items {"id": int, "data": str} posted to
/data, listed with GET /data, read with GET /data/{id}, encrypted with libsodium's SecretBox under
one key, kept only in memory, one uvicorn worker. It is the baseline SSE Store replaced (issue 19):
the bench compares the same item workload on both. Run: python3 bench/seed-server.py PORT."""

import sys

import nacl.secret
import nacl.utils
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI()
box = nacl.secret.SecretBox(nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))
items: dict[int, bytes] = {}


class Item(BaseModel):
    id: int | None = None
    data: str


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/data")
def create(item: Item):
    if not item.data:
        raise HTTPException(status_code=400, detail="data must not be empty")
    item_id = item.id if item.id is not None and item.id not in items else max(items, default=0) + 1
    items[item_id] = box.encrypt(item.data.encode())
    return {"id": item_id, "data": item.data}


@app.get("/data")
def list_ids():
    return sorted(items)


@app.get("/data/{item_id}")
def read(item_id: int):
    if item_id not in items:
        raise HTTPException(status_code=404, detail="not found")
    return {"id": item_id, "data": box.decrypt(items[item_id]).decode()}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, log_level="warning", access_log=False)
