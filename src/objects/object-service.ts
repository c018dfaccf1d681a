// The domain of binary objects: streamed, segment-encrypted writes with atomic replace, and reads
// that authenticate every segment before a byte of it leaves.
import { Readable } from "node:stream";
import type { AeadThread } from "../crypto/aead-thread.js";
import { dekContext, generateKey, zeroize } from "../crypto/envelope.js";
import { openJson, RecordPurpose, sealJson } from "../crypto/sealed-record.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  FORMAT_VERSION_PART,
  SEGMENT_SIZE,
  type SegmentCipher,
  type SegmentContext,
  SUITE_XCHACHA20_POLY1305,
  segmentCount,
} from "../crypto/segment-format.js";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { AppError, DiskFullError, IntegrityError } from "../errors.js";
import { type BackgroundReport, NO_REPORT } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import type { MultipartStore } from "../store/multipart-store.js";
import type { CommitResult, ObjectStore, WriteCondition } from "../store/object-store.js";
import type { ObjectKind, ObjectMeta } from "../store/records.js";
import { checkCondition } from "../store/write-condition.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import { BodySealer } from "./body-sealer.js";
import type { ExpectedDigest } from "./content-digest.js";
import { type FolderPage, type FolderQuery, listFolder } from "./folder-listing.js";
import type { Md5Thread } from "./md5-thread.js";
import { checkManifest, type Manifest } from "./multipart-manifest.js";
import { type MultipartText, multipartPlaintext } from "./multipart-reader.js";
import { validateObjectId } from "./object-id.js";
import { isObjectMetadata, type ObjectMetadata } from "./object-metadata.js";
import { type ByteRange, segmentsForRange } from "./range.js";
import {
  BATCH_SEGMENTS,
  openChecked,
  plaintextOnAeadThread,
  plaintextOnThisThread,
  type ReadPlan,
} from "./segment-reader.js";
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
  /** Compute the plaintext's MD5 (for describe). */
  md5?: boolean;
  /**
   * The write's metadata record, once the whole body is in (and checked by whoever reads it):
   * sealed under the write's DEK and committed with it. `md5` is empty unless asked for.
   */
  describe?: (written: { size: number; md5: Buffer }) => ObjectMetadata;
}

export interface PutResult {
  meta: ObjectMeta;
  created: boolean;
  /** What describe returned, as sealed. */
  metadata?: ObjectMetadata;
}

export interface ObjectServiceOptions {
  maxObjectBytes: number;
  segmentSize?: number;
  /** The suite new writes are sealed with (cipher-choice.ts); absent, XChaCha20-Poly1305. Reads take each write's own. */
  suite?: number;
  /** The suite of writes whose declared length fits in one segment; absent, `suite`. */
  smallSuite?: number;
  metrics?: DomainMetrics;
  /** Told of the transfer buffers large reads and writes let go of (young-gc.ts); absent, V8 alone decides. */
  youngGc?: YoungCollector;
  /** Opens the segments of large reads on a thread of its own; absent, on the calling thread. */
  aeadThread?: AeadThread | null;
  /** Where the MD5 of writes that ask for one runs (md5-thread.ts); absent, on the request's thread. */
  md5Thread?: Md5Thread;
  /** Where multipart objects' sealed manifests are (MultipartStore); absent, they cannot be read. */
  manifests?: Pick<MultipartStore, "getManifest">;
  /** The reserve of free space that writes may not enter (disk-space.ts); absent, none. */
  space?: SpaceGuard;
}

/** Manifests opened recently, by write id: a range read of a large multipart object needs its own. */
const MANIFEST_CACHE_ENTRIES = 64;

export class ObjectService {
  private readonly segmentSize: number;
  private readonly suite: number;
  private readonly smallSuite: number;
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
  /** Opened manifests by write id (immutable per write), least recently used first. */
  private readonly manifests = new Map<string, Manifest>();

  constructor(
    readonly store: ObjectStore,
    private readonly keys: KeyService,
    private readonly opts: ObjectServiceOptions,
    /** Failures of work the client does not wait for (abort, reclaim, rewrap), logged without flooding. */
    private readonly report: BackgroundReport = NO_REPORT,
  ) {
    this.segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.suite = opts.suite ?? SUITE_XCHACHA20_POLY1305;
    this.smallSuite = opts.smallSuite ?? this.suite;
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

  /** The object, or null. */
  async find(owner: string, id: string): Promise<ObjectMeta | null> {
    validateObjectId(id);
    return this.store.getObject(owner, id);
  }

  /** A page of the owner's objects under a prefix, folded into folders by a delimiter (folder-listing.ts). */
  listFolder(owner: string, q: FolderQuery): Promise<FolderPage> {
    return listFolder(this.store, owner, q);
  }

  /**
   * The write's sealed metadata record, opened (null when it has none: the native API's writes).
   * It is authenticated under the write's DEK, so what it says is what the writer stored.
   */
  async metadataOf(meta: ObjectMeta): Promise<ObjectMetadata | null> {
    if (!meta.sealedMeta) return null;
    const dek = await this.unwrapDekOf(meta);
    try {
      const binding = { owner: meta.owner, objectId: meta.id, writeId: meta.writeId };
      const md = openJson<unknown>(dek, binding, RecordPurpose.metadata, meta.sealedMeta);
      if (!isObjectMetadata(md)) throw new IntegrityError("the object's metadata record is malformed");
      return md;
    } catch (err) {
      throw this.noteFailure(err);
    } finally {
      zeroize(dek);
    }
  }

  /**
   * Bytes of part `n` (1-based) of the object: a multipart object's part as uploaded, and all of a
   * single-part object as its part 1 (as S3 answers GetObject with partNumber). Null past the last.
   */
  async partRange(meta: ObjectMeta, n: number): Promise<(ByteRange & { count: number }) | null> {
    if (meta.formatVersion !== FORMAT_VERSION_PART)
      return n === 1 ? { start: 0, end: meta.size - 1, count: 1 } : null;
    const m = await this.manifestOf(meta);
    let offset = 0;
    for (const [i, p] of m.parts.entries()) {
      if (i === n - 1) return { start: offset, end: offset + p.size - 1, count: m.parts.length };
      offset += p.size;
    }
    return null;
  }

  /** The opened manifest of a multipart object (cached by write id). */
  private async manifestOf(meta: ObjectMeta): Promise<Manifest> {
    const key = meta.writeId.toString("hex");
    const cached = this.manifests.get(key);
    if (cached) {
      this.manifests.delete(key);
      this.manifests.set(key, cached);
      return cached;
    }
    const sealed = await this.opts.manifests?.getManifest(meta.writeId);
    if (!sealed) throw new IntegrityError("the multipart object's manifest is missing");
    const dek = await this.unwrapDekOf(meta);
    let m: Manifest;
    try {
      const binding = { owner: meta.owner, objectId: meta.id, writeId: meta.writeId };
      m = checkManifest(openJson<unknown>(dek, binding, RecordPurpose.manifest, sealed), meta.size);
    } finally {
      zeroize(dek);
    }
    this.manifests.set(key, m);
    if (this.manifests.size > MANIFEST_CACHE_ENTRIES)
      this.manifests.delete(this.manifests.keys().next().value!);
    return m;
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
    // A write known to fit in one segment may take another suite (cipher-choice.ts, smallSuite).
    const small = input.contentLength !== undefined && input.contentLength <= this.segmentSize;
    const ctx = this.context(owner, id, writeId, small ? this.smallSuite : this.suite);
    const dek = generateKey();
    let sealer: BodySealer | null = null;
    let cipher: SegmentCipher | null = null;
    try {
      const { kekVersion, wrappedDek } = await this.keys.wrapDek(owner, dek, dekContext(owner, id, writeId));
      cipher = createSegmentCipher(dek, ctx);
      sealer = new BodySealer(this.store, {
        owner,
        id,
        writeId,
        cipher,
        dek,
        segmentSize: this.segmentSize,
        maxBytes: max,
        ...(input.contentLength !== undefined ? { contentLength: input.contentLength } : {}),
        ...(input.digest ? { digest: input.digest } : {}),
        md5: input.md5 === true,
        md5Thread: this.opts.md5Thread,
        youngGc: this.youngGc,
        onChunk: (n) => claim.add(n),
      });
      const body = await sealer.seal(input.body);
      cipher.dispose();
      // What the caller keeps about the plaintext, sealed under the same DEK (never in clear).
      const metadata = input.describe?.({ size: body.size, md5: body.md5 ?? Buffer.alloc(0) });
      const now = new Date();
      const meta: ObjectMeta = {
        owner,
        id,
        kind: input.kind ?? "blob",
        size: body.size,
        contentType: input.contentType,
        etag: body.etag,
        created: now,
        modified: now,
        writeId,
        formatVersion: ctx.formatVersion,
        suite: ctx.suite,
        segmentSize: ctx.segmentSize,
        kekVersion,
        wrappedDek,
        sealedMeta: metadata
          ? sealJson(dek, { owner, objectId: id, writeId }, RecordPurpose.metadata, metadata)
          : null,
      };
      let result: CommitResult;
      if (!sealer.began) {
        // Small object: segments and metadata in one transaction.
        result = await this.store.commitObject(meta, input.cond, body.pending);
      } else {
        await sealer.flush(body);
        result = await this.store.commitObject(meta, input.cond);
      }
      sealer.began = false;
      if (!result.created) this.scheduleReclaim();
      this.metrics.objectStored(result.created, body.size);
      meta.created = result.createdAt;
      await this.followRotation(meta, dek);
      return { meta, created: result.created, ...(metadata ? { metadata } : {}) };
    } finally {
      cipher?.dispose();
      zeroize(dek);
      if (sealer?.began) {
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
    let cipher: SegmentCipher | null = null;
    try {
      dek = await this.unwrapDekOf(meta);
      cipher = createSegmentCipher(dek, this.contextOf(meta));
      const pre = this.prefetched.get(meta);
      this.prefetched.delete(meta);
      const sealed = pre && count === 1 ? [pre] : await this.fetchBatch(meta, 0, count);
      const c = cipher;
      const plain = sealed.map((seg, i) => openChecked(c, meta, i, count, seg));
      return plain.length === 1 ? plain[0]! : Buffer.concat(plain);
    } catch (err) {
      throw this.noteFailure(err);
    } finally {
      cipher?.dispose();
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
    // A multipart object is streamed part by part, whatever its size.
    return (
      meta.formatVersion !== FORMAT_VERSION_PART &&
      segmentCount(meta.size, meta.segmentSize) <= SMALL_SEGMENTS
    );
  }

  /**
   * Opens a plaintext stream of the object (or a range of it). The data key and the first
   * segment are authenticated before this resolves, so damage found early becomes a clean 500.
   */
  async read(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    if (meta.formatVersion === FORMAT_VERSION_PART) return this.readMultipart(meta, range);
    const count = segmentCount(meta.size, meta.segmentSize);
    const r = range ?? { start: 0, end: meta.size - 1 };
    const span = meta.size === 0 ? { first: 0, last: 0, skip: 0 } : segmentsForRange(r, meta.segmentSize);
    const wanted = meta.size === 0 ? 0 : r.end - r.start + 1;
    const unhold = this.hold(meta);
    let dek: Buffer | null = null;
    let cipher: SegmentCipher | null = null;
    const release = () => {
      cipher?.dispose();
      if (dek) zeroize(dek);
      dek = null;
      unhold();
    };
    try {
      dek = await this.unwrapDekOf(meta);
      cipher = createSegmentCipher(dek, this.contextOf(meta));
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
        thread && perJob > 0 ? plaintextOnAeadThread(plan, thread, perJob) : plaintextOnThisThread(plan),
      );
      const stream = Readable.from(gen, { objectMode: false, highWaterMark: 2 * meta.segmentSize });
      stream.once("close", release);
      return stream;
    } catch (err) {
      release();
      throw this.noteFailure(err);
    }
  }

  /** read() of a multipart object: its parts in turn (multipart-reader.ts). */
  private async readMultipart(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    const unhold = this.hold(meta);
    let dek: Buffer | null = null;
    let text: MultipartText | null = null;
    const release = () => {
      text?.dispose();
      if (dek) zeroize(dek);
      dek = null;
      unhold();
    };
    try {
      const manifest = await this.manifestOf(meta);
      dek = await this.unwrapDekOf(meta);
      text = await multipartPlaintext(meta, manifest, dek, range, {
        fetch: async (writeId, first, n) => {
          const segs = await this.store.readSegments(writeId, first, n);
          if (segs.length !== n) throw new IntegrityError("stored object is missing segments");
          return segs;
        },
        youngGc: this.youngGc,
      });
      const stream = Readable.from(this.counted(text.chunks), {
        objectMode: false,
        highWaterMark: 2 * meta.segmentSize,
      });
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
    await this.opts.md5Thread?.close();
    await this.opts.aeadThread?.close();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    const done = () => this.inflight.delete(work);
    work.then(done, done);
    return work;
  }

  private context(owner: string, objectId: string, writeId: Buffer, suite: number): SegmentContext {
    return {
      formatVersion: FORMAT_VERSION,
      suite,
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
