// The domain of binary objects: streamed, segment-encrypted writes with atomic replace, and reads
// that authenticate every segment before a byte of it leaves.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { AeadThread } from "../crypto/aead-thread.js";
import { dekContext, generateKey, zeroize } from "../crypto/envelope.js";
import { EtagHasher } from "../crypto/etag.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  SEGMENT_SIZE,
  type SegmentContext,
  SUITE_XCHACHA20_POLY1305,
  segmentCount,
  TAG_BYTES,
} from "../crypto/segment-format.js";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { AppError, DiskFullError, IntegrityError } from "../errors.js";
import { type BackgroundReport, NO_REPORT } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import type { CommitResult, ObjectStore, WriteCondition } from "../store/object-store.js";
import type { ObjectKind, ObjectMeta } from "../store/records.js";
import { checkCondition } from "../store/write-condition.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import type { ExpectedDigest } from "./content-digest.js";
import { validateObjectId } from "./object-id.js";
import { type ByteRange, segmentsForRange } from "./range.js";
import {
  BATCH_SEGMENTS,
  openChecked,
  plaintextOnAeadThread,
  plaintextOnThisThread,
  type ReadPlan,
} from "./segment-reader.js";
import { SegmentWriter } from "./segment-writer.js";
import { checkObjectSize } from "./size-limit.js";
import { NO_SPACE_GUARD, type SpaceClaim, type SpaceGuard } from "./storage-reserve.js";
import { newWriteId } from "./write-id.js";

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
  /** The reserve of free space that writes may not enter (disk-space.ts); absent, none. */
  space?: SpaceGuard;
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
  private readonly space: SpaceGuard;
  /** Sealed segments that came with statForRead's metadata, taken by readSmall (weak: a 304 drops them). */
  private readonly prefetched = new WeakMap<ObjectMeta, Buffer>();
  /** Whether replaced or deleted writes may be waiting; reads then need not look (hot path). */
  private trashPending = true;

  constructor(
    readonly store: ObjectStore,
    private readonly keys: KeyService,
    private readonly opts: ObjectServiceOptions,
    /** Failures of work the client does not wait for (abort, reclaim, rewrap), logged without flooding. */
    private readonly report: BackgroundReport = NO_REPORT,
  ) {
    this.segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.metrics = opts.metrics ?? NO_METRICS;
    this.youngGc = opts.youngGc ?? NO_YOUNG_GC;
    this.space = opts.space ?? NO_SPACE_GUARD;
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
    checkCondition(await this.store.getObject(owner, id), cond);
  }

  put(input: PutInput): Promise<PutResult> {
    return this.track(this.write(input));
  }

  private async write(input: PutInput): Promise<PutResult> {
    validateObjectId(input.id);
    const max = this.opts.maxObjectBytes;
    if (input.contentLength !== undefined) checkObjectSize(input.contentLength, max);
    // Before any byte is read or stored: an upload that would enter the reserve is refused (507).
    const claim = await this.space.admit(input.kind === "item" ? "small" : "upload", input.contentLength);
    try {
      const result = await this.storeBody(input, claim);
      this.space.stored();
      return result;
    } catch (err) {
      if (err instanceof DiskFullError) this.space.diskFull();
      throw err;
    } finally {
      claim.end();
    }
  }

  private async storeBody(input: PutInput, claim: SpaceClaim): Promise<PutResult> {
    const { owner, id } = input;
    const max = this.opts.maxObjectBytes;
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
        checkObjectSize(size, max);
        if (input.contentLength !== undefined && size > input.contentLength)
          throw new AppError("length_mismatch", "the body is longer than Content-Length");
        claim.add(chunk.length);
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
        sealedMeta: null,
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
        await this.store.abortUpload(writeId).then(
          () => this.report.succeeded("abort upload"),
          (err) => this.report.failed("abort upload", err),
        );
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
      this.report.failed("rewrap after rotation", err);
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
        fetch: (from, n) => this.fetchBatch(meta, from, n),
        youngGc: this.youngGc,
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
        thread && perJob > 0 ? plaintextOnAeadThread(plan, dek, thread, perJob) : plaintextOnThisThread(plan),
      );
      const stream = Readable.from(gen, { objectMode: false, highWaterMark: 2 * meta.segmentSize });
      stream.once("close", release);
      return stream;
    } catch (err) {
      release();
      throw this.noteFailure(err);
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
      .then(
        () => this.report.succeeded("reclaim"),
        (err) => this.report.failed("reclaim", err),
      )
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
