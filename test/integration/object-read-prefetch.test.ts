// A GET of a small object reads the object once: the metadata and the only sealed segment come
// from one getObjectForRead (one round trip on PostgreSQL instead of two), through a bearer token
// or a download link. Larger objects, HEAD,
// and a read without the prefetch still read their segments as before, and give the same bytes.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ObjectStore } from "../../src/store/object-store.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

let t: TestApp;
const calls = { getObject: 0, getObjectForRead: 0, readSegments: 0 };

beforeAll(async () => {
  t = await startApp();
  // Count the store calls the routes make, on the very store instance the app uses.
  const store = t.stores.objects as ObjectStore;
  for (const name of Object.keys(calls) as (keyof typeof calls)[]) {
    const original = (store[name] as (...a: unknown[]) => Promise<unknown>).bind(store);
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls[name]++;
      return original(...args);
    };
  }
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
});

const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
const put = async (id: string, body: Buffer) => {
  const r = await t.app.inject({
    method: "PUT",
    url: `/data/${id}`,
    headers: { ...headers, "content-type": "application/octet-stream" },
    payload: body,
  });
  expect(r.statusCode).toBeLessThan(300);
};

describe("reading small objects", () => {
  it("an item GET makes one store read", async () => {
    const post = await t.app.inject({ method: "POST", url: "/data", headers, payload: { data: "hello" } });
    const { id } = post.json() as { id: number };
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
    const r = await t.app.inject({ url: `/data/${id}`, headers });
    expect(r.json()).toEqual({ id, data: "hello" });
    expect(calls).toEqual({ getObject: 0, getObjectForRead: 1, readSegments: 0 });
  });

  it("a small object GET (and a range of it) makes one store read; a large one also reads segments", async () => {
    const small = randomBytes(16 * 1024);
    const large = randomBytes(16 * 1024 + 1);
    await put("small", small);
    await put("large", large);
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;

    const a = await t.app.inject({ url: "/data/small", headers });
    expect(a.rawPayload.equals(small)).toBe(true);
    const range = await t.app.inject({ url: "/data/small", headers: { ...headers, range: "bytes=10-19" } });
    expect(range.rawPayload.equals(small.subarray(10, 20))).toBe(true);
    expect(calls).toEqual({ getObject: 0, getObjectForRead: 2, readSegments: 0 });

    const b = await t.app.inject({ url: "/data/large", headers });
    expect(b.rawPayload.equals(large)).toBe(true);
    expect(calls).toEqual({ getObject: 0, getObjectForRead: 3, readSegments: 1 });
  });

  it("a download link's GET of a small object makes one object read too", async () => {
    const body = randomBytes(5000);
    await put("linked", body);
    const made = await t.app.inject({ method: "POST", url: "/data/linked/link", headers });
    const url = new URL((made.json() as { url: string }).url);
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
    const r = await t.app.inject({ url: url.pathname });
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(body)).toBe(true);
    expect(calls).toEqual({ getObject: 0, getObjectForRead: 1, readSegments: 0 });
    const head = await t.app.inject({ method: "HEAD", url: url.pathname });
    expect(head.headers["content-length"]).toBe("5000");
    expect(calls).toEqual({ getObject: 1, getObjectForRead: 1, readSegments: 0 });
  });

  it("HEAD reads only the metadata, and a read without the prefetch fetches the segment", async () => {
    const body = randomBytes(100);
    await put("h", body);
    for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
    const head = await t.app.inject({ method: "HEAD", url: "/data/h", headers });
    expect(head.headers["content-length"]).toBe("100");
    expect(calls).toEqual({ getObject: 1, getObjectForRead: 0, readSegments: 0 });

    const uid = (await t.services.auth.authenticate(ADMIN_TOKEN))!.user.uid;
    const plain = await t.services.objects.readSmall(await t.services.objects.stat(uid, "h"));
    expect(plain.equals(body)).toBe(true);
    expect(calls.readSegments).toBe(1);
  });
});
