// The read pipeline of binary objects: every segment authenticated before a byte of it leaves;
// small objects read whole, large ones streamed (on the AEAD thread when there is one).
import { Readable } from "node:stream";
import type { AeadThread } from "../crypto/aead-thread.js";
import { dekContext, zeroize } from "../crypto/envelope.js";
import { openJson, RecordPurpose } from "../crypto/sealed-record.js";
import {
  createSegmentCipher,
  FORMAT_VERSION_PART,
  type SegmentCipher,
  type SegmentContext,
  segmentCount,
} from "../crypto/segment-format.js";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { IntegrityError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { MultipartStore } from "../store/multipart-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import { checkManifest, type Manifest } from "./multipart-manifest.js";
import { multipartPlaintext } from "./multipart-reader.js";
import { validateObjectId } from "./object-id.js";
import { isObjectMetadata, type ObjectMetadata } from "./object-metadata.js";
import { type ByteRange, segmentsForRange } from "./range.js";
import type { ReadHolds } from "./read-holds.js";
import {
  BATCH_SEGMENTS,
  openChecked,
  plaintextOnAeadThread,
  plaintextOnThisThread,
  type ReadPlan,
} from "./segment-reader.js";

/** Objects of at most this many segments (256 KiB) are read whole instead of streamed. */
export const SMALL_SEGMENTS = 4;
/**
 * Objects up to this size come with their sealed segment in the metadata read (one store round trip
 * instead of two for items and small records). Kept small because PostgreSQL sends it as hex text.
 */
const PREFETCH_MAX_BYTES = 16 * 1024;
/** Manifests opened recently, by write id: a range read of a large multipart object needs its own. */
const MANIFEST_CACHE_ENTRIES = 64;

/** An object as statForRead found it: a small object's sealed segment rides along, for readSmall. */
export interface ObjectForRead extends ObjectMeta {
  /** Taken (and dropped) by the first readSmall; absent, readSmall fetches the segments. */
  prefetched?: Buffer;
}

export interface ObjectReaderOptions {
  metrics?: DomainMetrics;
  /** Told of the transfer buffers large reads let go of (young-gc.ts); absent, V8 alone decides. */
  youngGc?: YoungCollector;
  /** Opens the segments of large reads on a thread of its own; absent, on the calling thread. */
  aeadThread?: AeadThread | null;
  /** Where multipart objects' sealed manifests are (MultipartStore); absent, they cannot be read. */
  manifests?: Pick<MultipartStore, "getManifest">;
}

export class ObjectReader {
  readonly #store: ObjectStore;
  readonly #keys: KeyService;
  readonly #opts: ObjectReaderOptions;
  readonly #holds: ReadHolds;
  readonly #metrics: DomainMetrics;
  readonly #youngGc: YoungCollector;
  /** Opened manifests by write id (immutable per write), least recently used first. */
  readonly #manifests = new Map<string, Manifest>();

  constructor(store: ObjectStore, keys: KeyService, holds: ReadHolds, opts: ObjectReaderOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#holds = holds;
    this.#opts = opts;
    this.#metrics = opts.metrics ?? NO_METRICS;
    this.#youngGc = opts.youngGc ?? NO_YOUNG_GC;
  }

  /** stat() for a read that follows, with null for a missing object. */
  async findForRead(owner: string, id: string): Promise<ObjectForRead | null> {
    validateObjectId(id);
    const found = await this.#store.getObjectForRead(owner, id, PREFETCH_MAX_BYTES);
    if (!found) return null;
    const meta: ObjectForRead = found.meta;
    if (found.segment) meta.prefetched = found.segment;
    return meta;
  }

  /**
   * The write's sealed metadata record, opened (null when it has none: the native API's writes).
   * It is authenticated under the write's DEK, so what it says is what the writer stored.
   */
  async metadataOf(meta: ObjectMeta): Promise<ObjectMetadata | null> {
    if (!meta.sealedMeta) return null;
    const dek = await this.#unwrapDekOf(meta);
    try {
      const binding = { owner: meta.owner, objectId: meta.id, writeId: meta.writeId };
      const md = openJson<unknown>(dek, binding, RecordPurpose.metadata, meta.sealedMeta);
      if (!isObjectMetadata(md)) throw new IntegrityError("the object's metadata record is malformed");
      return md;
    } catch (err) {
      throw this.#noteFailure(err);
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
    const m = await this.#manifestOf(meta);
    let offset = 0;
    for (const [i, p] of m.parts.entries()) {
      if (i === n - 1) return { start: offset, end: offset + p.size - 1, count: m.parts.length };
      offset += p.size;
    }
    return null;
  }

  isSmall(meta: ObjectMeta): boolean {
    // A multipart object is streamed part by part, whatever its size.
    return (
      meta.formatVersion !== FORMAT_VERSION_PART &&
      segmentCount(meta.size, meta.segmentSize) <= SMALL_SEGMENTS
    );
  }

  /**
   * Reads a small object whole (at most SMALL_SEGMENTS segments), authenticated, into memory:
   * the fast path for items and small objects, and every damage is found before any header.
   */
  async readSmall(meta: ObjectForRead): Promise<Buffer> {
    const count = segmentCount(meta.size, meta.segmentSize);
    if (count > SMALL_SEGMENTS) throw new RangeError("readSmall is for small objects");
    const release = this.#holds.hold(meta);
    let dek: Buffer | null = null;
    let cipher: SegmentCipher | null = null;
    try {
      dek = await this.#unwrapDekOf(meta);
      cipher = createSegmentCipher(dek, contextOf(meta));
      const pre = meta.prefetched;
      delete meta.prefetched;
      const sealed = pre && count === 1 ? [pre] : await this.#fetchBatch(meta, 0, count);
      const c = cipher;
      const plain = sealed.map((seg, i) => openChecked(c, meta, i, count, seg));
      return plain.length === 1 ? plain[0]! : Buffer.concat(plain);
    } catch (err) {
      throw this.#noteFailure(err);
    } finally {
      cipher?.dispose();
      if (dek) zeroize(dek);
      release();
    }
  }

  /**
   * Opens a plaintext stream of the object (or a range of it). The data key and the first
   * segment are authenticated before this resolves, so damage found early becomes a clean 500.
   */
  async read(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    if (meta.formatVersion === FORMAT_VERSION_PART) return this.#readMultipart(meta, range);
    const count = segmentCount(meta.size, meta.segmentSize);
    const r = range ?? { start: 0, end: meta.size - 1 };
    const span = meta.size === 0 ? { first: 0, last: 0, skip: 0 } : segmentsForRange(r, meta.segmentSize);
    const wanted = meta.size === 0 ? 0 : r.end - r.start + 1;
    return this.#stream(meta, async (unwrapDek, onRelease, closed) => {
      const dek = await unwrapDek();
      const cipher = createSegmentCipher(dek, contextOf(meta));
      onRelease(() => cipher.dispose());
      const first = await this.#fetchBatch(
        meta,
        span.first,
        Math.min(BATCH_SEGMENTS, span.last - span.first + 1),
      );
      // The first segment is opened (where it lay) before the headers go out.
      const firstPlain = openChecked(cipher, meta, span.first, count, first[0]);
      const head = firstPlain.subarray(span.skip, span.skip + wanted);
      const plan: ReadPlan = {
        fetch: (from, n) => this.#fetchBatch(meta, from, n),
        youngGc: this.#youngGc,
        closed,
        meta,
        cipher,
        count,
        first: span.first,
        last: span.last,
        wanted,
        firstBatch: first,
        head,
      };
      const thread = this.#opts.aeadThread?.usable ? this.#opts.aeadThread : null;
      const perJob = thread ? thread.batchCapacity(meta.segmentSize) : 0;
      return thread && perJob > 0 ? plaintextOnAeadThread(plan, thread, perJob) : plaintextOnThisThread(plan);
    });
  }

  /** read() of a multipart object: its parts in turn (multipart-reader.ts). */
  #readMultipart(meta: ObjectMeta, range: ByteRange | null): Promise<Readable> {
    return this.#stream(meta, async (unwrapDek, onRelease) => {
      const manifest = await this.#manifestOf(meta);
      const text = await multipartPlaintext(meta, manifest, await unwrapDek(), range, {
        fetch: (writeId, first, n) => this.#fetchSegments(writeId, first, n),
        youngGc: this.#youngGc,
      });
      onRelease(() => text.dispose());
      return text.chunks;
    });
  }

  /**
   * A plaintext stream of `meta` that holds the write against the reclaimer, and keeps its data key
   * (zeroed then), until it closes; `plaintext` unwraps the key when it needs it, and registers
   * what else to dispose of then (its ciphers' derived keys).
   */
  async #stream(
    meta: ObjectMeta,
    plaintext: (
      unwrapDek: () => Promise<Buffer>,
      onRelease: (dispose: () => void) => void,
      closed: () => boolean,
    ) => Promise<AsyncGenerator<Buffer>>,
  ): Promise<Readable> {
    const unhold = this.#holds.hold(meta);
    let dek: Buffer | null = null;
    const disposers: (() => void)[] = [];
    const release = () => {
      for (const d of disposers.splice(0)) d();
      if (dek) zeroize(dek);
      dek = null;
      unhold();
    };
    // Destroyed at once by a closing client, while 'close' waits for the generator to finish.
    let stream: Readable | null = null;
    try {
      const gen = await plaintext(
        async () => {
          dek = await this.#unwrapDekOf(meta);
          return dek;
        },
        (d) => disposers.push(d),
        () => stream?.destroyed === true,
      );
      stream = Readable.from(this.#counted(gen), {
        objectMode: false,
        highWaterMark: 2 * meta.segmentSize,
      });
      stream.once("close", release);
      return stream;
    } catch (err) {
      release();
      throw this.#noteFailure(err);
    }
  }

  /** The opened manifest of a multipart object (cached by write id). */
  async #manifestOf(meta: ObjectMeta): Promise<Manifest> {
    const key = meta.writeId.toString("hex");
    const cached = this.#manifests.get(key);
    if (cached) {
      this.#manifests.delete(key);
      this.#manifests.set(key, cached);
      return cached;
    }
    const sealed = await this.#opts.manifests?.getManifest(meta.writeId);
    if (!sealed) throw new IntegrityError("the multipart object's manifest is missing");
    const dek = await this.#unwrapDekOf(meta);
    let m: Manifest;
    try {
      const binding = { owner: meta.owner, objectId: meta.id, writeId: meta.writeId };
      m = checkManifest(openJson<unknown>(dek, binding, RecordPurpose.manifest, sealed), meta.size);
    } finally {
      zeroize(dek);
    }
    this.#manifests.set(key, m);
    if (this.#manifests.size > MANIFEST_CACHE_ENTRIES)
      this.#manifests.delete(this.#manifests.keys().next().value!);
    return m;
  }

  /** The data key of a stored write (the caller zeroes it). */
  #unwrapDekOf(meta: ObjectMeta): Promise<Buffer> {
    const context = dekContext(meta.owner, meta.id, meta.writeId);
    return this.#keys.unwrapDek(meta.owner, meta.kekVersion, meta.wrappedDek, context);
  }

  /** Passes a plaintext stream through, counting an integrity failure found mid-stream. */
  async *#counted(plain: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    try {
      yield* plain;
    } catch (err) {
      throw this.#noteFailure(err);
    }
  }

  /** Counts integrity failures (whether found before the headers or mid-stream) and passes the error on. */
  #noteFailure(err: unknown): unknown {
    if (err instanceof IntegrityError) this.#metrics.integrityFailure();
    return err;
  }

  #fetchBatch(meta: ObjectMeta, first: number, n: number): Promise<Buffer[]> {
    return this.#fetchSegments(meta.writeId, first, n);
  }

  async #fetchSegments(writeId: Buffer, first: number, n: number): Promise<Buffer[]> {
    const segs = await this.#store.readSegments(writeId, first, n);
    // Missing segments mean the stored object was truncated (or replaced and reclaimed).
    if (segs.length !== n) throw new IntegrityError("stored object is missing segments");
    return segs;
  }
}

function contextOf(meta: ObjectMeta): SegmentContext {
  return {
    formatVersion: meta.formatVersion,
    suite: meta.suite,
    segmentSize: meta.segmentSize,
    owner: meta.owner,
    objectId: meta.id,
    writeId: meta.writeId,
  };
}
