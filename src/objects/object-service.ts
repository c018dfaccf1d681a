// The domain of binary objects: streamed, segment-encrypted writes with atomic replace, and reads
// that authenticate every segment before a byte of it leaves.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { AeadThread, OpenedBatch } from "../crypto/aead-thread.js";
import { dekContext, generateKey, zeroize } from "../crypto/envelope.js";
import { EtagHasher } from "../crypto/etag.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  SEGMENT_SIZE,
  type SegmentCipher,
  type SegmentContext,
  SUITE_XCHACHA20_POLY1305,
  segmentCount,
  TAG_BYTES,
} from "../crypto/segment-format.js";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { AppError, IntegrityError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { CommitResult, ObjectKind, ObjectMeta, ObjectStore, WriteCondition } from "../store/store.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import type { ExpectedDigest } from "./content-digest.js";
import { validateObjectId } from "./object-id.js";
import { type ByteRange, segmentsForRange } from "./range.js";
import { SegmentWriter } from "./segment-writer.js";
import { newWriteId } from "./write-id.js";

/** Segments per store round trip: bounds memory (about 1 MiB) and amortises transactions. */
const BATCH_SEGMENTS = 16;
/** Batches of one read on the AEAD thread at once: one being opened, one waiting. */
const THREAD_JOBS_IN_FLIGHT = 2;
/** Objects of at most this many segments (256 KiB) are read whole instead of streamed. */
export const SMALL_SEGMENTS = 4;
/**
 * Objects up to this size come with their sealed segment in the metadata read (one store round trip
 * instead of two for items and small records). Kept small because PostgreSQL sends it as hex text.
 */
const PREFETCH_MAX_BYTES = 16 * 1024;

export interface PutInput {
  owner: string;
  id: string;
  body: AsyncIterable<Buffer> | Iterable<Buffer>;
  contentType: string;
  /** Declared length, when the client sent one: checked up front and at the end. */
  contentLength?: number;
  digest?: ExpectedDigest;
  cond: WriteCondition;
  kind?: ObjectKind;
}

export interface PutResult {
  meta: ObjectMeta;
  created: boolean;
}

export interface ObjectServiceOptions {
  maxObjectBytes: number;
  segmentSize?: number;
  metrics?: DomainMetrics;
  /** Told of the transfer buffers large reads and writes let go of (young-gc.ts); absent, V8 alone decides. */
  youngGc?: YoungCollector;
  /** Opens the segments of large reads on a thread of its own; absent, on the calling thread. */
  aeadThread?: AeadThread | null;
}

export class ObjectService {
  private readonly segmentSize: number;
  /** writeId hex → number of streams reading it; the reclaimer leaves these alone. */
  private readonly readers = new Map<string, number>();
  /** Live view of the keys of `readers`, consulted by the reclaimer while it runs. */
  private readonly busy = new Set<string>();
  private reclaiming: Promise<void> | null = null;
  private reclaimAgain = false;
  /** Writes and deletes under way: shutdown waits for them before the stores close. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly metrics: DomainMetrics;
  private readonly youngGc: YoungCollector;
  /** Sealed segments that came with statForRead's metadata, taken by readSmall (weak: a 304 drops them). */
  private readonly prefetched = new WeakMap<ObjectMeta, Buffer>();
  /** Whether replaced or deleted writes may be waiting; reads then need not look (hot path). */
  private trashPending = true;

  constructor(
    readonly store: ObjectStore,
    private readonly keys: KeyService,
    private readonly opts: ObjectServiceOptions,
    private readonly onError: (err: unknown, what: string) => void = () => undefined,
  ) {
    this.segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.metrics = opts.metrics ?? NO_METRICS;
    this.youngGc = opts.youngGc ?? NO_YOUNG_GC;
  }

  get maxObjectBytes(): number {
    return this.opts.maxObjectBytes;
  }

  async stat(owner: string, id: string): Promise<ObjectMeta> {
    validateObjectId(id);
    const meta = await this.store.getObject(owner, id);
    if (!meta) throw new AppError("not_found", `no object with id ${id}`);
    return meta;
  }

  /** stat() for a read that follows: a small object's sealed segment comes along for readSmall. */
  async statForRead(owner: string, id: string): Promise<ObjectMeta> {
    const meta = await this.findForRead(owner, id);
    if (!meta) throw new AppError("not_found", `no object with id ${id}`);
    return meta;
  }

  /** statForRead, with null for a missing object. */
  async findForRead(owner: string, id: string): Promise<ObjectMeta | null> {
    validateObjectId(id);
    const found = await this.store.getObjectForRead(owner, id, PREFETCH_MAX_BYTES);
    if (!found) return null;
    if (found.segment) this.prefetched.set(found.meta, found.segment);
    return found.meta;
  }

  /** Checks a write's preconditions before any body byte is read (they are checked again at commit). */
  async precheck(owner: string, id: string, cond: WriteCondition): Promise<void> {
    validateObjectId(id);
    if (!cond.ifNoneMatch && !cond.ifMatch) return;
    const cur = await this.store.getObject(owner, id);
    checkCondition(cur, cond);
  }

  put(input: PutInput): Promise<PutResult> {
    return this.track(this.write(input));
  }

  private async write(input: PutInput): Promise<PutResult> {
    const { owner, id } = input;
    validateObjectId(id);
    const max = this.opts.maxObjectBytes;
    if (input.contentLength !== undefined && input.contentLength > max)
      throw new AppError("payload_too_large", `objects are limited to ${max} bytes`);

    const writeId = newWriteId();
    const ctx = this.context(owner, id, writeId);
    const dek = generateKey();
    let began = false;
    let flushed = 0;
    try {
      const { kekVersion, wrappedDek } = await this.keys.wrapDek(owner, dek, dekContext(owner, id, writeId));
      const cipher = createSegmentCipher(dek, ctx);
      const etag = new EtagHasher(dek);
      const hash = input.digest ? createHash(input.digest.algorithm) : null;
      let batch: Buffer[] = [];
      // Full sealed segments go back here once the store has them: one batch of buffers per upload.
      const spare: Buffer[] = [];
      const full = this.segmentSize + TAG_BYTES;
      const writer = new SegmentWriter(
        cipher,
        this.segmentSize,
        (sealed) => {
          // The ETag covers the segment tags (each commits to its segment); see docs/FORMAT.md.
          etag.update(sealed.subarray(sealed.length - TAG_BYTES));
          batch.push(sealed);
        },
        () => spare.pop() ?? Buffer.allocUnsafe(full),
      );
      let size = 0;

      for await (const chunk of input.body) {
        size += chunk.length;
        if (size > max) throw new AppError("payload_too_large", `objects are limited to ${max} bytes`);
        if (input.contentLength !== undefined && size > input.contentLength)
          throw new AppError("length_mismatch", "the body is longer than Content-Length");
        hash?.update(chunk);
        writer.write(chunk);
        if (batch.length >= BATCH_SEGMENTS) {
          if (!began) {
            await this.store.beginUpload(owner, id, writeId);
            began = true;
          }
          const out = batch;
          batch = [];
          await this.store.appendSegments(writeId, flushed, out);
          flushed += out.length;
          // The store is done with them (ObjectStore.appendSegments).
          for (const b of out) if (b.length === full) spare.push(b);
          // The request's chunks that made them are garbage now.
          this.youngGc.released(out.length * this.segmentSize);
        }
      }
      if (input.contentLength !== undefined && size !== input.contentLength)
        throw new AppError("length_mismatch", "the body is shorter than Content-Length");
      writer.end();
      const sizeBytes = Buffer.alloc(8);
      sizeBytes.writeBigUInt64BE(BigInt(size));
      etag.update(sizeBytes);
      if (hash && input.digest && !hash.digest().equals(input.digest.value))
        throw new AppError(
          "digest_mismatch",
          `the body does not match its Content-Digest ${input.digest.algorithm}`,
        );

      const now = new Date();
      const meta: ObjectMeta = {
        owner,
        id,
        kind: input.kind ?? "blob",
        size,
        contentType: input.contentType,
        etag: etag.digest(),
        created: now,
        modified: now,
        writeId,
        formatVersion: ctx.formatVersion,
        suite: ctx.suite,
        segmentSize: ctx.segmentSize,
        kekVersion,
        wrappedDek,
      };
      let result: CommitResult;
      if (!began) {
        // Small object: segments and metadata in one transaction.
        result = await this.store.commitObject(meta, input.cond, batch);
      } else {
        if (batch.length > 0) await this.store.appendSegments(writeId, flushed, batch);
        result = await this.store.commitObject(meta, input.cond);
      }
      began = false;
      if (!result.created) this.scheduleReclaim();
      this.metrics.objectStored(result.created, size);
      meta.created = result.createdAt;
      await this.followRotation(meta, dek);
      return { meta, created: result.created };
    } finally {
      zeroize(dek);
      if (began) {
        // Aborted, refused or failed: no partial object, no garbage left behind.
        await this.store.abortUpload(writeId).catch((err) => this.onError(err, "abort upload"));
      }
    }
  }

  /** A key rotation during the upload: the committed data key moves to the new primary at once. */
  private async followRotation(meta: ObjectMeta, dek: Buffer): Promise<void> {
    try {
      const context = dekContext(meta.owner, meta.id, meta.writeId);
      const fresh = await this.keys.rewrapIfStale(meta.owner, meta.kekVersion, dek, context);
      if (!fresh) return;
      const { kekVersion, wrappedDek } = fresh;
      if (await this.store.updateWrappedDek(meta.owner, meta.id, meta.writeId, kekVersion, wrappedDek)) {
        meta.kekVersion = kekVersion;
        meta.wrappedDek = wrappedDek;
      }
    } catch (err) {
      // The write stands under its older version; a rewrap job moves it later.
      this.onError(err, "rewrap after rotation");
    }
  }

  /**
   * Reads a small object whole (at most SMALL_SEGMENTS segments), authenticated, into memory:
   * the fast path for items and small objects, and every damage is found before any header.
   */
  async readSmall(meta: ObjectMeta): Promise<Buffer> {
    const count = segmentCount(meta.size, meta.segmentSize);
    if (count > SMALL_SEGMENTS) throw new RangeError("readSmall is for small objects");
    const release = this.hold(meta);
    let dek: Buffer | null = null;
    try {
      dek = await this.unwrapDekOf(meta);
      const cipher = createSegmentCipher(dek, this.contextOf(meta));
      const pre = this.prefetched.get(meta);
      this.prefetched.delete(meta);
      const sealed = pre && count === 1 ? [pre] : await this.fetchBatch(meta, 0, count);
      const plain = sealed.map((seg, i) => openChecked(cipher, meta, i, count, seg));
      return plain.length === 1 ? plain[0]! : Buffer.concat(plain);
    } catch (err) {
      throw this.noteFailure(err);
    } finally {
      if (dek) zeroize(dek);
      release();
    }
  }

  /** The data key of a stored write (the caller zeroes it). */
  private unwrapDekOf(meta: ObjectMeta): Promise<Buffer> {
    const context = dekContext(meta.owner, meta.id, meta.writeId);
    return this.keys.unwrapDek(meta.owner, meta.kekVersion, meta.wrappedDek, context);
  }

  /**
   * Marks a write as being read, before any await, so that a replace committed meanwhile cannot
   * reclaim its segments. Returns the release function (idempotent).
   */
  private hold(meta: ObjectMeta): () => void {
    const key = meta.writeId.toString("hex");
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    this.busy.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.readers.get(key) ?? 1) - 1;
      if (n <= 0) {
        this.readers.delete(key);
        this.busy.delete(key);
      } else this.readers.set(key, n);
      if (this.trashPending) this.scheduleReclaim();
    };
  }

  isSmall(meta: ObjectMeta): boolean {
    return segmentCount(meta.size, meta.segmentSize) <= SMALL_SEGMENTS;
  }

  /**
   * Opens a plaintext stream of the object (or a range of it). The data key and the first
   * segment are authenticated before this resolves, so damage found early becomes a clean 500.
   */
  async read(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    const count = segmentCount(meta.size, meta.segmentSize);
    const r = range ?? { start: 0, end: meta.size - 1 };
    const span = meta.size === 0 ? { first: 0, last: 0, skip: 0 } : segmentsForRange(r, meta.segmentSize);
    const wanted = meta.size === 0 ? 0 : r.end - r.start + 1;
    const unhold = this.hold(meta);
    let dek: Buffer | null = null;
    const release = () => {
      if (dek) zeroize(dek);
      dek = null;
      unhold();
    };
    try {
      dek = await this.unwrapDekOf(meta);
      const cipher = createSegmentCipher(dek, this.contextOf(meta));
      const first = await this.fetchBatch(
        meta,
        span.first,
        Math.min(BATCH_SEGMENTS, span.last - span.first + 1),
      );
      // The first segment is opened (where it lay) before the headers go out.
      const firstPlain = openChecked(cipher, meta, span.first, count, first[0]);
      const head = firstPlain.subarray(span.skip, span.skip + wanted);
      const plan: ReadPlan = {
        meta,
        cipher,
        count,
        first: span.first,
        last: span.last,
        wanted,
        firstBatch: first,
        head,
      };
      const thread = this.opts.aeadThread?.usable ? this.opts.aeadThread : null;
      const perJob = thread ? thread.batchCapacity(meta.segmentSize) : 0;
      const gen = this.counted(
        thread && perJob > 0 ? this.plaintextOnThread(plan, dek, thread, perJob) : this.plaintext(plan),
      );
      const stream = Readable.from(gen, { objectMode: false, highWaterMark: 2 * meta.segmentSize });
      stream.once("close", release);
      return stream;
    } catch (err) {
      release();
      throw this.noteFailure(err);
    }
  }

  /** The plaintext of a read, each batch of segments opened on this thread into one buffer. */
  private async *plaintext(plan: ReadPlan): AsyncGenerator<Buffer> {
    const { meta, cipher, count, last } = plan;
    let remaining = plan.wanted - plan.head.length;
    if (plan.wanted === 0) return;
    yield plan.head;
    let index = plan.first + 1;
    let batch = plan.firstBatch;
    let pos = 1;
    while (index <= last && remaining > 0) {
      if (pos >= batch.length) {
        batch = await this.fetchBatch(meta, index, Math.min(BATCH_SEGMENTS, last - index + 1));
        pos = 0;
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
      this.youngGc.released(2 * filled);
      yield chunk;
    }
    if (remaining !== 0) throw new IntegrityError("stored object is shorter than its recorded size");
  }

  /**
   * plaintext(), with the segments after the first opened on the AEAD thread, two batches in
   * flight: while the thread opens one, this thread fetches the next and sends the last. Batches
   * come back in order; a damaged one ends the stream at its start, as on this thread.
   */
  private async *plaintextOnThread(
    plan: ReadPlan,
    dek: Buffer,
    thread: AeadThread,
    perJob: number,
  ): AsyncGenerator<Buffer> {
    const { meta, cipher, count, last } = plan;
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
        } else segs = await this.fetchBatch(meta, next, Math.min(perJob, last - next + 1));
        const job = thread.open(cipher, dek, next, count - 1, segs);
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
        this.youngGc.released(2 * batch.length);
        const out = batch.take();
        const chunk = out.length > remaining ? out.subarray(0, remaining) : out;
        remaining -= chunk.length;
        await fill();
        yield chunk;
      }
      if (remaining !== 0) throw new IntegrityError("stored object is shorter than its recorded size");
    } finally {
      // Slots of batches never taken go back; the data key is zeroed only once no job can copy it.
      await Promise.allSettled(queue.map((job) => job.then((b) => b.discard())));
    }
  }

  /** Passes a plaintext stream through, counting an integrity failure found mid-stream. */
  private async *counted(plain: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    try {
      yield* plain;
    } catch (err) {
      throw this.noteFailure(err);
    }
  }

  /** Counts integrity failures (whether found before the headers or mid-stream) and passes the error on. */
  private noteFailure(err: unknown): unknown {
    if (err instanceof IntegrityError) this.metrics.integrityFailure();
    return err;
  }

  private async fetchBatch(meta: ObjectMeta, first: number, n: number): Promise<Buffer[]> {
    const segs = await this.store.readSegments(meta.writeId, first, n);
    // Missing segments mean the stored object was truncated (or replaced and reclaimed).
    if (segs.length !== n) throw new IntegrityError("stored object is missing segments");
    return segs;
  }

  delete(owner: string, id: string, cond?: WriteCondition): Promise<void> {
    return this.track(this.remove(owner, id, cond));
  }

  private async remove(owner: string, id: string, cond?: WriteCondition): Promise<void> {
    validateObjectId(id);
    if (cond?.ifMatch) {
      const cur = await this.store.getObject(owner, id);
      if (!cur) throw new AppError("not_found", `no object with id ${id}`);
    }
    const deleted = await this.store.deleteObject(owner, id, cond);
    if (!deleted) throw new AppError("not_found", `no object with id ${id}`);
    this.metrics.objectDeleted();
    this.scheduleReclaim();
  }

  /** Removes the segments of replaced and deleted writes that nobody is reading any more. */
  scheduleReclaim(): void {
    this.trashPending = true;
    if (this.reclaiming) {
      this.reclaimAgain = true;
      return;
    }
    this.reclaiming = (async () => {
      do {
        this.reclaimAgain = false;
        // Writes being read are skipped and stay pending until their last reader lets go.
        const skipped = this.busy.size;
        await this.store.reclaim(this.busy);
        if (skipped === 0 && !this.reclaimAgain) this.trashPending = false;
      } while (this.reclaimAgain);
    })()
      .catch((err) => this.onError(err, "reclaim"))
      .finally(() => {
        this.reclaiming = null;
      });
  }

  /** Sweeps uploads whose writer died and reclaims what nobody reads any more; returns the uploads swept. */
  async maintain(): Promise<number> {
    const swept = await this.store.sweepAbandonedUploads();
    this.scheduleReclaim();
    return swept;
  }

  /** Waits for writes, deletes and reclaims under way (graceful shutdown, tests). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0 || this.reclaiming)
      await Promise.allSettled([...this.inflight, this.reclaiming]);
  }

  /** After settle(), at shutdown: stops the AEAD thread, if any (reads still under way fail). */
  async close(): Promise<void> {
    await this.opts.aeadThread?.close();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    const done = () => this.inflight.delete(work);
    work.then(done, done);
    return work;
  }

  private context(owner: string, objectId: string, writeId: Buffer): SegmentContext {
    return {
      formatVersion: FORMAT_VERSION,
      suite: SUITE_XCHACHA20_POLY1305,
      segmentSize: this.segmentSize,
      owner,
      objectId,
      writeId,
    };
  }

  private contextOf(meta: ObjectMeta): SegmentContext {
    return {
      formatVersion: meta.formatVersion,
      suite: meta.suite,
      segmentSize: meta.segmentSize,
      owner: meta.owner,
      objectId: meta.id,
      writeId: meta.writeId,
    };
  }
}

function openChecked(
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
interface ReadPlan {
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

export function checkCondition(cur: ObjectMeta | null, cond: WriteCondition): void {
  if (cond.ifNoneMatch && cur)
    throw new AppError("precondition_failed", "the object exists (If-None-Match: *)");
  if (cond.ifMatch) {
    if (!cur) throw new AppError("precondition_failed", "the object does not exist (If-Match)");
    if (!cond.ifMatch.includes("*") && !cond.ifMatch.includes(cur.etag))
      throw new AppError("precondition_failed", "the object's ETag does not match If-Match");
  }
}
