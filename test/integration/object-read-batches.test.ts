// Streaming reads open a fetched batch of segments into one buffer (one socket write per batch).
// These check the edges of that: ranges that start, end or both inside a batch or across batch
// boundaries give exactly the requested bytes, a full read comes out in one chunk per batch, and
// a segment damaged in a later batch ends the stream with an integrity error after a prefix of the
// true bytes, never with a byte of wrong plaintext. All of it twice: segments opened on the
// serving thread, and on the AEAD thread (SSE_READ_THREAD). Real SQLite store, key service and
// worker thread.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AeadThread } from "../../src/crypto/aead-thread.js";
import { IntegrityError } from "../../src/errors.js";
import { ObjectService } from "../../src/objects/object-service.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { serviceWithSegmentReads } from "../helpers/object-service.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";
import { waitFor } from "../helpers/wait-for.js";

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

describe.each([
  { where: "on the serving thread", onThread: false },
  { where: "on the AEAD thread", onThread: true },
])("streaming reads across segment batches, opened $where", ({ onThread }) => {
  let t: TestApp;
  let uid: string;
  let thread: AeadThread | null = null;
  let objects: ObjectService;
  let opened = 0;
  const body = randomBytes(SIZE);

  beforeAll(async () => {
    t = await startApp();
    uid = (await t.services.auth.authenticate(ADMIN_TOKEN))!.user.uid;
    await t.services.objects.put({ owner: uid, id: "big", body: [body], contentType: "x/y", cond: {} });
    if (onThread) {
      thread = new AeadThread();
      const open = thread.open.bind(thread);
      thread.open = (...args) => {
        opened++;
        return open(...args);
      };
    }
    objects = new ObjectService(t.stores.objects, t.services.keys, {
      maxObjectBytes: 1 << 30,
      aeadThread: thread,
    });
  });
  afterAll(async () => {
    await objects.settle();
    await objects.close();
    await t.close();
  });

  it("gives a full read in one chunk per batch (the first segment on its own)", async () => {
    const before = opened;
    const meta = await objects.stat(uid, "big");
    const { bytes, chunks, error } = await drain(await objects.read(meta, null));
    expect(error).toBeNull();
    expect(bytes.equals(body)).toBe(true);
    // Segment 0 (opened before the headers), segments 1-15, 16-31, 32-40.
    expect(chunks).toBe(4);
    expect(opened - before).toBe(onThread ? 3 : 0);
  });

  it("gives exactly the requested bytes for ranges inside and across batches", async () => {
    const meta = await objects.stat(uid, "big");
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
      const { bytes, error } = await drain(await objects.read(meta, { start, end }));
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
      thread,
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

  it("lets go of everything when the reader goes away mid-stream", async () => {
    const meta = await objects.stat(uid, "big");
    for (let i = 0; i < 5; i++) {
      const stream = await objects.read(meta, null);
      await new Promise<void>((resolve) => {
        stream.once("data", () => {
          stream.destroy();
          resolve();
        });
      });
      await new Promise((r) => stream.once("close", r));
    }
    // Every slot of the thread is free again: as many whole reads at once as it has slots.
    const reads = await Promise.all([1, 2].map(async () => drain(await objects.read(meta, null))));
    for (const r of reads) expect(r.bytes.equals(body)).toBe(true);
    // And, once the streams have closed, nothing holds the write against the reclaimer.
    await waitFor("the reads to let go of the write", () => objects.heldWrites === 0);
  });
});

describe("an AEAD thread that cannot start", () => {
  it("fails the read that found out, loudly, and the next reads open segments on the serving thread", async () => {
    const t = await startApp();
    try {
      const uid = (await t.services.auth.authenticate(ADMIN_TOKEN))!.user.uid;
      const body = randomBytes(SIZE);
      await t.services.objects.put({ owner: uid, id: "big", body: [body], contentType: "x/y", cond: {} });
      const errors: unknown[] = [];
      const thread = new AeadThread({
        workerUrl: new URL("./no-such-worker.mjs", import.meta.url),
        onError: (e) => errors.push(e),
      });
      const objects = new ObjectService(t.stores.objects, t.services.keys, {
        maxObjectBytes: 1 << 30,
        aeadThread: thread,
      });
      const meta = await objects.stat(uid, "big");
      const first = await drain(await objects.read(meta, null));
      expect(first.error).toBeInstanceOf(Error);
      expect(first.bytes.equals(body.subarray(0, first.bytes.length))).toBe(true);
      expect(errors).toHaveLength(1);
      const next = await drain(await objects.read(meta, null));
      expect(next.error).toBeNull();
      expect(next.bytes.equals(body)).toBe(true);
      await objects.settle();
      await objects.close();
    } finally {
      await t.close();
    }
  });
});
