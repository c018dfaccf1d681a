// Streaming reads open a fetched batch of segments into one buffer (one socket write per batch).
// These check the edges of that: ranges that start, end or both inside a batch or across batch
// boundaries give exactly the requested bytes, a full read comes out in one chunk per batch, and
// a segment damaged in a later batch ends the stream with an integrity error after a prefix of the
// true bytes, never with a byte of wrong plaintext. Real SQLite store and key service.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError } from "../../src/errors.js";
import { ADMIN_TOKEN, startApp, type TestApp } from "../helpers/app.js";
import { serviceWithSegmentReads } from "../helpers/object-service.js";

const SEG = 65536;
/** 40 full segments and a short last one: three fetch batches of 16. */
const SIZE = 40 * SEG + 1234;

/** Flowing mode, as a pipe to the socket reads it: each 'data' event is one write. */
function drain(stream: Readable): Promise<{ bytes: Buffer; chunks: number; error: unknown }> {
  const parts: Buffer[] = [];
  return new Promise((resolve) => {
    const done = (error: unknown) => resolve({ bytes: Buffer.concat(parts), chunks: parts.length, error });
    stream.on("data", (chunk: Buffer) => parts.push(chunk));
    stream.once("end", () => done(null));
    stream.once("error", done);
  });
}

describe("streaming reads across segment batches", () => {
  let t: TestApp;
  let uid: string;
  const body = randomBytes(SIZE);

  beforeAll(async () => {
    t = await startApp();
    uid = (await t.services.auth.authenticate(ADMIN_TOKEN))!.user.uid;
    await t.services.objects.put({ owner: uid, id: "big", body: [body], contentType: "x/y", cond: {} });
  });
  afterAll(async () => {
    await t.close();
  });

  it("gives a full read in one chunk per batch (the first segment on its own)", async () => {
    const meta = await t.services.objects.stat(uid, "big");
    const { bytes, chunks, error } = await drain(await t.services.objects.read(meta, null));
    expect(error).toBeNull();
    expect(bytes.equals(body)).toBe(true);
    // Segment 0 (opened before the headers), segments 1-15, 16-31, 32-40.
    expect(chunks).toBe(4);
  });

  it("gives exactly the requested bytes for ranges inside and across batches", async () => {
    const meta = await t.services.objects.stat(uid, "big");
    const ranges: [number, number][] = [
      [0, 0],
      [5, 9],
      [SEG - 1, SEG], // the first segment's last byte and the second's first
      [SEG + 17, 3 * SEG + 5], // inside the first batch
      [15 * SEG + 3, 16 * SEG + 3], // across the first batch boundary
      [16 * SEG, 32 * SEG - 1], // exactly the second batch
      [20 * SEG + 100, 20 * SEG + 200], // inside one segment of the second batch
      [31 * SEG + 9, SIZE - 1], // across the second boundary to the end
      [40 * SEG, SIZE - 1], // the short last segment alone
      [SIZE - 1, SIZE - 1],
      [1, SIZE - 2],
    ];
    for (const [start, end] of ranges) {
      const { bytes, error } = await drain(await t.services.objects.read(meta, { start, end }));
      expect(error, `${start}-${end}`).toBeNull();
      expect(bytes.equals(body.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it("stops with an integrity error at a damaged segment of a later batch, after true bytes only", async () => {
    const damaged = 35;
    const { objects, failures } = serviceWithSegmentReads(
      t.stores.objects,
      t.services.keys,
      async (read, ...args) => {
        const [, first] = args;
        const segs = await read(...args);
        const i = damaged - first;
        if (i >= 0 && i < segs.length) segs[i]![100]! ^= 0x01;
        return segs;
      },
    );
    const meta = await objects.stat(uid, "big");
    const { bytes, error } = await drain(await objects.read(meta, null));
    expect(error).toBeInstanceOf(IntegrityError);
    expect(failures()).toBe(1);
    // Everything before the damaged segment's batch, nothing of that batch: no unverified byte.
    expect(bytes.length).toBe(32 * SEG);
    expect(bytes.equals(body.subarray(0, bytes.length))).toBe(true);
    await objects.settle();
  });
});
