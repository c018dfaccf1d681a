import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeUpload } from "../../src/cli/upload.js";
import { runCli, tempHome } from "../helpers/cli-fakes.js";

let server: http.Server;
let base: string;
const seen: { headers: http.IncomingHttpHeaders; bytes: number; sha: string }[] = [];

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    if (req.url === "/early") {
      // Answers without reading the body, as an auth check does.
      res.writeHead(401, { "content-type": "application/problem+json", "www-authenticate": "Bearer" });
      res.end(JSON.stringify({ title: "Authentication required", status: 401, code: "unauthorized" }));
      return;
    }
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const c of req) {
      hash.update(c as Buffer);
      bytes += (c as Buffer).length;
    }
    seen.push({ headers: req.headers, bytes, sha: hash.digest("base64") });
    res.writeHead(201, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "x", size: bytes }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("streaming upload over node:http", () => {
  it("sends the file with its Content-Length and Content-Digest, through the real CLI path", async () => {
    const file = path.join(tempHome(), "f.bin");
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
    fs.writeFileSync(file, data);
    const r = await runCli(["--json", "put", file], {
      env: { SSE_URL: base },
      fetch: globalThis.fetch,
      deps: { upload: nodeUpload },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = seen.at(-1)!;
    expect(got.bytes).toBe(data.length);
    expect(got.headers["content-length"]).toBe(String(data.length));
    expect(got.headers["transfer-encoding"]).toBeUndefined();
    expect(got.headers["content-digest"]).toBe(`sha-256=:${got.sha}:`);
    expect(got.headers.authorization).toBe("Bearer sse_unit");
    expect(JSON.parse(r.stdout)).toMatchObject({ size: data.length, created: true });
  });

  it("an answer before the body is read still reaches the user (401 → exit 4)", async () => {
    const file = path.join(tempHome(), "big.bin");
    fs.writeFileSync(file, Buffer.alloc(32 * 1024 * 1024));
    const res = await nodeUpload(new URL(`${base}/early`), {
      method: "PUT",
      headers: new Headers({ "content-length": String(32 * 1024 * 1024) }),
      body: fs.createReadStream(file),
    });
    expect(res.status).toBe(401);
    expect(JSON.parse(await res.text())).toMatchObject({ code: "unauthorized" });
  });

  it("a refused connection is 'cannot reach'", async () => {
    const file = path.join(tempHome(), "s.bin");
    fs.writeFileSync(file, "x");
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await runCli(["put", file], {
      env: { SSE_URL: url },
      fetch: globalThis.fetch,
      deps: { upload: nodeUpload },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot reach ${url}\n`);
  });
});
