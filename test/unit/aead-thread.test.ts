// The AEAD thread opens batches of segments exactly as SegmentCipher.open does on the calling
// thread: the same plaintext, the same failures for every kind of damage, the key never left in
// shared memory, and a thread that dies or is closed fails the batches under way instead of
// hanging them. Both suites (libsodium's XChaCha20-Poly1305, OpenSSL's AES-256-GCM); a real worker
// thread.
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AeadThread } from "../../src/crypto/aead-thread.js";
import { generateKey } from "../../src/crypto/envelope.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  type SegmentCipher,
  SUITE_AES256GCM,
  SUITE_XCHACHA20_POLY1305,
} from "../../src/crypto/segment-format.js";
import { IntegrityError } from "../../src/errors.js";

const SEG = 1024;

const SUITES = [
  { name: "XChaCha20-Poly1305", suite: SUITE_XCHACHA20_POLY1305 },
  { name: "AES-256-GCM", suite: SUITE_AES256GCM },
];

function sealedObject(suite: number, size: number, key = generateKey()) {
  const cipher = createSegmentCipher(key, {
    formatVersion: FORMAT_VERSION,
    suite,
    segmentSize: SEG,
    owner: "u1",
    objectId: "o1",
    writeId: randomBytes(16),
  });
  const plain = randomBytes(size);
  const count = Math.max(1, Math.ceil(size / SEG));
  const sealed = Array.from({ length: count }, (_, i) =>
    cipher.seal(i, i === count - 1, plain.subarray(i * SEG, Math.min(size, (i + 1) * SEG))),
  );
  return { key, cipher, plain, sealed, count };
}

/** Copies, since the thread is given buffers it may consume. */
const copies = (bufs: Buffer[]) => bufs.map((b) => Buffer.from(b));

async function openAll(thread: AeadThread, cipher: SegmentCipher, sealed: Buffer[]) {
  const per = thread.batchCapacity(SEG);
  const parts: Buffer[] = [];
  for (let first = 0; first < sealed.length; first += per) {
    const batch = await thread.open(
      cipher,
      first,
      sealed.length - 1,
      copies(sealed.slice(first, first + per)),
    );
    parts.push(batch.take());
  }
  return Buffer.concat(parts);
}

/** Every SharedArrayBuffer made in this file, in order: the threads' shared memory, read to see no key is left in it. */
const madeMemory: SharedArrayBuffer[] = [];
class RecordedSharedArrayBuffer extends SharedArrayBuffer {
  constructor(length: number) {
    super(length);
    madeMemory.push(this);
  }
}
beforeAll(() => {
  vi.stubGlobal("SharedArrayBuffer", RecordedSharedArrayBuffer);
});
afterAll(() => {
  vi.unstubAllGlobals();
});

/** Each thread's slot count, and the shared memory made before it (not its own). */
const madeBefore = new WeakMap<AeadThread, { slots: number; memories: number }>();

/** True when the key area (the first 32 bytes) of every slot of the thread's shared memory is zero. */
function sharedKeysAreZero(thread: AeadThread): boolean {
  const { slots, memories } = madeBefore.get(thread)!;
  // One thread a test: the memory made since it was made is its own (none before its first batch).
  for (const memory of madeMemory.slice(memories)) {
    const view = Buffer.from(memory);
    const slotBytes = view.length / slots;
    for (let at = 0; at < view.length; at += slotBytes) {
      if (!view.subarray(at, at + 32).equals(Buffer.alloc(32))) return false;
    }
  }
  return true;
}

/** The worker threads that were sent a message, in order. */
function messagedWorkers(send: { mock: { contexts: unknown[] } }): Worker[] {
  return send.mock.contexts.filter((w): w is Worker => w instanceof Worker);
}

describe.each(SUITES)("AeadThread, $name", ({ suite }) => {
  const threads: AeadThread[] = [];
  const make = (opts: ConstructorParameters<typeof AeadThread>[0] = {}) => {
    const all = { slots: 4, maxEntries: 4, maxBatchBytes: 4 * SEG, ...opts };
    const t = new AeadThread(all);
    madeBefore.set(t, { slots: all.slots, memories: madeMemory.length });
    threads.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(threads.splice(0).map((t) => t.close()));
  });

  it("opens every size around segment and batch boundaries as the calling thread does", async () => {
    const thread = make();
    for (const size of [0, 1, SEG - 1, SEG, SEG + 1, 4 * SEG - 1, 4 * SEG, 4 * SEG + 1, 9 * SEG + 7]) {
      const o = sealedObject(suite, size);
      const got = await openAll(thread, o.cipher, o.sealed);
      expect(got.equals(o.plain), `size ${size}`).toBe(true);
    }
    expect(sharedKeysAreZero(thread)).toBe(true);
  });

  it("rejects a flipped bit in any segment of a batch, and the thread goes on working", async () => {
    const thread = make();
    const o = sealedObject(suite, 4 * SEG);
    for (let seg = 0; seg < 4; seg++) {
      const damaged = copies(o.sealed);
      damaged[seg]![(seg * 37) % damaged[seg]!.length]! ^= 1 << seg;
      const err = await thread.open(o.cipher, 0, 3, damaged).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toBe(`segment ${seg} failed authentication`);
    }
    expect((await openAll(thread, o.cipher, o.sealed)).equals(o.plain)).toBe(true);
    expect(sharedKeysAreZero(thread)).toBe(true);
  });

  it("rejects segments out of place: swapped, moved from another object, a wrong last flag, a wrong length", async () => {
    const thread = make();
    const o = sealedObject(suite, 3 * SEG + 5);
    const other = sealedObject(suite, 3 * SEG + 5, o.key);
    const cases: [string, Buffer[], number][] = [
      ["swapped", [o.sealed[1]!, o.sealed[0]!, o.sealed[2]!, o.sealed[3]!], 0],
      ["from another write", [o.sealed[0]!, other.sealed[1]!, o.sealed[2]!, o.sealed[3]!], 0],
      // Opened as if the object ended at segment 2: segment 2 is not sealed as a last one.
      ["not the last", o.sealed.slice(0, 3), 2],
    ];
    for (const [name, segs, lastIndex] of cases) {
      const last = lastIndex || segs.length - 1;
      const err = await thread.open(o.cipher, 0, last, copies(segs)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(IntegrityError);
    }
    const short = copies(o.sealed.slice(0, 2));
    short[1] = short[1]!.subarray(1);
    const err = await thread.open(o.cipher, 0, 3, short).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/invalid length/);
    expect(sharedKeysAreZero(thread)).toBe(true);
  });

  it("gives slots back when batches are discarded, and waits for one when all are taken", async () => {
    const thread = make({ slots: 2 });
    const o = sealedObject(suite, 8 * SEG);
    const a = await thread.open(o.cipher, 0, 7, copies(o.sealed.slice(0, 4)));
    const b = await thread.open(o.cipher, 4, 7, copies(o.sealed.slice(4, 8)));
    let third = false;
    const c = thread.open(o.cipher, 0, 7, copies(o.sealed.slice(0, 4))).then((x) => {
      third = true;
      return x;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    a.discard();
    a.discard();
    expect((await c).take().equals(o.plain.subarray(0, 4 * SEG))).toBe(true);
    expect(b.take().equals(o.plain.subarray(4 * SEG))).toBe(true);
    expect(() => b.take()).toThrow(/already taken/);
  });

  it("fails the batches under way when the thread dies, and starts a new thread for the next", async () => {
    const errors: unknown[] = [];
    const thread = make({ onError: (e) => errors.push(e) });
    const o = sealedObject(suite, 4 * SEG);
    // The thread's worker, as the first batch is sent to it.
    const send = vi.spyOn(Worker.prototype, "postMessage");
    expect((await openAll(thread, o.cipher, o.sealed)).equals(o.plain)).toBe(true);
    const worker = messagedWorkers(send)[0]!;
    send.mockRestore();
    const pending = thread.open(o.cipher, 0, 3, copies(o.sealed));
    await worker.terminate();
    await expect(pending).rejects.toThrow(/exited/);
    expect(errors).toHaveLength(1);
    expect(sharedKeysAreZero(thread)).toBe(true);
    expect((await openAll(thread, o.cipher, o.sealed)).equals(o.plain)).toBe(true);
  });

  it("gives up, and says so, when the thread cannot start at all", async () => {
    const errors: unknown[] = [];
    const thread = make({
      workerUrl: new URL("./no-such-worker.mjs", import.meta.url),
      onError: (e) => errors.push(e),
    });
    const o = sealedObject(suite, SEG);
    expect(thread.usable).toBe(true);
    await expect(thread.open(o.cipher, 0, 0, copies(o.sealed))).rejects.toThrow();
    expect(thread.usable).toBe(false);
    expect(errors).toHaveLength(1);
    await expect(thread.open(o.cipher, 0, 0, copies(o.sealed))).rejects.toThrow(/cannot start/);
    expect(sharedKeysAreZero(thread)).toBe(true);
  });

  it("refuses work once closed", async () => {
    const thread = make();
    const o = sealedObject(suite, SEG);
    await thread.close();
    await expect(thread.open(o.cipher, 0, 0, copies(o.sealed))).rejects.toThrow(/closed/);
  });

  it("fits as many segments in a batch as its limits allow, and none too large", () => {
    const thread = make({ maxEntries: 16, maxBatchBytes: 16 * 65536 });
    expect(thread.batchCapacity(65536)).toBe(16);
    expect(thread.batchCapacity(16)).toBe(16);
    expect(thread.batchCapacity(256 * 1024)).toBe(4);
    expect(thread.batchCapacity(2 * 1024 * 1024)).toBe(0);
  });
});
