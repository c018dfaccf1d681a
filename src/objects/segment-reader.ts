// Stored segments into plaintext: the checks a sealed segment passes before it is opened, and the
// two ways a streaming read opens its batches (on this thread, or on the AEAD thread with two
// batches in flight). ObjectService chooses, holds the write against the reclaimer and owns the
// data key; this file only turns sealed batches into plaintext chunks, true bytes only.
import type { AeadThread, OpenedBatch } from "../crypto/aead-thread.js";
import { type SegmentCipher, TAG_BYTES } from "../crypto/segment-format.js";
import { IntegrityError } from "../errors.js";
import type { ObjectMeta } from "../store/records.js";
import type { YoungCollector } from "../young-gc.js";

/** Segments per store round trip: bounds memory (about 1 MiB) and amortises transactions. */
export const BATCH_SEGMENTS = 16;
/** Batches of one read on the AEAD thread at once: one being opened, one waiting. */
const THREAD_JOBS_IN_FLIGHT = 2;

export function openChecked(
  cipher: SegmentCipher,
  meta: ObjectMeta,
  index: number,
  count: number,
  sealed: Buffer | undefined,
): Buffer {
  const checked = checkSealedLength(meta, index, count, sealed);
  // The store hands out buffers the caller owns: decrypted where they lie, no second 64 KiB each.
  return cipher.openInPlace(index, index === count - 1, checked);
}

/** openChecked, decrypting into the start of `out` (sized by plaintextBytes). */
function openCheckedInto(
  cipher: SegmentCipher,
  meta: ObjectMeta,
  index: number,
  count: number,
  sealed: Buffer | undefined,
  out: Buffer,
): Buffer {
  const checked = checkSealedLength(meta, index, count, sealed);
  return cipher.openInto(index, index === count - 1, checked, out);
}

/** What a streaming read sends: its first segment is opened before the headers go out. */
export interface ReadPlan {
  meta: ObjectMeta;
  cipher: SegmentCipher;
  /** Segments in the object. */
  count: number;
  /** First and last segment the read covers. */
  first: number;
  last: number;
  /** Plaintext bytes the read sends. */
  wanted: number;
  /** The batch fetched with the first segment (whose first entry is now opened). */
  firstBatch: Buffer[];
  /** The bytes of the first segment the read sends. */
  head: Buffer;
  /** Fetches `n` sealed segments from `first` (all of them, or IntegrityError). */
  fetch(first: number, n: number): Promise<Buffer[]>;
  /** Told of the buffers each batch lets go of. */
  youngGc: YoungCollector;
  /** True once the reader's stream has closed: no batch is read ahead after that. */
  closed?: () => boolean;
}

/** Plaintext bytes of segments [first, end) of an object of `count` segments. */
function plaintextBytes(meta: ObjectMeta, count: number, first: number, end: number): number {
  const whole = (end - first) * meta.segmentSize;
  return end === count ? whole - (count * meta.segmentSize - meta.size) : whole;
}

/**
 * A stored segment must be as long as its place in the object says, before anything is decrypted:
 * a segment that is too long or too short is tampering (or a truncated store).
 */
function checkSealedLength(
  meta: ObjectMeta,
  index: number,
  count: number,
  sealed: Buffer | undefined,
): Buffer {
  if (!sealed) throw new IntegrityError("stored object is missing segments");
  const expected = index === count - 1 ? meta.size - index * meta.segmentSize : meta.segmentSize;
  if (sealed.length !== expected + TAG_BYTES) throw new IntegrityError("stored segment has the wrong length");
  return sealed;
}

/** The plaintext of a read, each batch of segments opened on this thread into one buffer. */
export async function* plaintextOnThisThread(plan: ReadPlan): AsyncGenerator<Buffer> {
  const { meta, cipher, count, last } = plan;
  let remaining = plan.wanted - plan.head.length;
  if (plan.wanted === 0) return;
  yield plan.head;
  let index = plan.first + 1;
  let batch = plan.firstBatch;
  let pos = 1;
  // The next batch is read while this one is opened and sent: the read (a positioned read of a
  // blob file, on libuv's thread pool) overlaps the AEAD on this thread. One batch ahead at most.
  const ahead = (from: number): Promise<Buffer[]> | null => {
    if (from > last || plan.closed?.()) return null;
    const p = plan.fetch(from, Math.min(BATCH_SEGMENTS, last - from + 1));
    // Awaited in its turn; a read that ends early (range done, client gone) must not count as unhandled.
    p.catch(() => undefined);
    return p;
  };
  let next = ahead(plan.first + batch.length);
  while (index <= last && remaining > 0) {
    if (pos >= batch.length) {
      batch = await (next ?? plan.fetch(index, Math.min(BATCH_SEGMENTS, last - index + 1)));
      pos = 0;
      next = ahead(index + batch.length);
    }
    // The rest of the batch is opened into one buffer, which goes out in one socket write: a
    // write per 64 KiB segment costs a wakeup of the reader each, about a sixth of the CPU.
    const end = index + (batch.length - pos);
    const out = Buffer.allocUnsafe(plaintextBytes(meta, count, index, end));
    let filled = 0;
    for (; pos < batch.length; pos++, index++) {
      filled += openCheckedInto(cipher, meta, index, count, batch[pos], out.subarray(filled)).length;
    }
    const chunk = filled > remaining ? out.subarray(0, remaining) : out;
    remaining -= chunk.length;
    // The batch's sealed segments, and soon the output once sent, are garbage.
    plan.youngGc.released(2 * filled);
    yield chunk;
  }
  if (remaining !== 0) throw new IntegrityError("stored object is shorter than its recorded size");
}

/**
 * plaintextOnThisThread(), with the segments after the first opened on the AEAD thread, two batches in
 * flight: while the thread opens one, this thread fetches the next and sends the last. Batches
 * come back in order; a damaged one ends the stream at its start, as on this thread.
 */
export async function* plaintextOnAeadThread(
  plan: ReadPlan,
  thread: AeadThread,
  perJob: number,
): AsyncGenerator<Buffer> {
  const { cipher, count, last } = plan;
  let remaining = plan.wanted - plan.head.length;
  if (plan.wanted === 0) return;
  const queue: Promise<OpenedBatch>[] = [];
  let next = plan.first + 1;
  // Sealed segments fetched with the first one and not yet sent to the thread.
  let carry = plan.firstBatch.slice(1);
  const fill = async () => {
    while (queue.length < THREAD_JOBS_IN_FLIGHT && next <= last && remaining > 0) {
      let segs: Buffer[];
      if (carry.length > 0) {
        segs = carry.slice(0, perJob);
        carry = carry.slice(perJob);
      } else segs = await plan.fetch(next, Math.min(perJob, last - next + 1));
      const job = thread.open(cipher, next, count - 1, segs);
      // Awaited in its turn below; until then a failure must not count as unhandled.
      job.catch(() => undefined);
      queue.push(job);
      next += segs.length;
    }
  };
  try {
    await fill();
    yield plan.head;
    while (queue.length > 0 && remaining > 0) {
      const batch = await queue.shift()!;
      // Sealed segments of this batch, and the output of earlier ones, are garbage by now;
      // collecting before this batch's output exists keeps it from surviving into old space.
      plan.youngGc.released(2 * batch.length);
      const out = batch.take();
      const chunk = out.length > remaining ? out.subarray(0, remaining) : out;
      remaining -= chunk.length;
      await fill();
      yield chunk;
    }
    if (remaining !== 0) throw new IntegrityError("stored object is shorter than its recorded size");
  } finally {
    // Slots of batches never taken go back; the cipher is disposed only once no job can copy its key.
    await Promise.allSettled(queue.map((job) => job.then((b) => b.discard())));
  }
}
