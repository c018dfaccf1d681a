// The write pipeline of binary objects: a body streamed into sealed segments under a fresh data
// key, committed atomically (readers see the old or the new object), nothing left of a failed one.
import { dekContext, generateKey, zeroize } from "../crypto/envelope.js";
import { RecordPurpose, sealJson } from "../crypto/sealed-record.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  SEGMENT_SIZE,
  type SegmentCipher,
  type SegmentContext,
  SUITE_XCHACHA20_POLY1305,
} from "../crypto/segment-format.js";
import { type DomainMetrics, NO_METRICS } from "../domain-metrics.js";
import { DiskFullError } from "../errors.js";
import { type BackgroundReport, NO_REPORT } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import type { CommitResult, ObjectStore, WriteCondition } from "../store/object-store.js";
import type { ObjectKind, ObjectMeta } from "../store/records.js";
import { checkCondition } from "../store/write-condition.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import { BodySealer } from "./body-sealer.js";
import type { ExpectedDigest } from "./content-digest.js";
import type { Md5Thread } from "./md5-thread.js";
import { validateObjectId } from "./object-id.js";
import type { ObjectMetadata } from "./object-metadata.js";
import { checkObjectSize } from "./size-limit.js";
import { NO_SPACE_GUARD, type SpaceClaim, type SpaceGuard } from "./storage-reserve.js";
import { newWriteId } from "./write-id.js";

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

export interface ObjectWriterOptions {
  maxObjectBytes: number;
  segmentSize?: number;
  /** The suite new writes are sealed with (cipher-choice.ts); absent, XChaCha20-Poly1305. Reads take each write's own. */
  suite?: number;
  /** The suite of writes whose declared length fits in one segment; absent, `suite`. */
  smallSuite?: number;
  metrics?: DomainMetrics;
  /** Told of the transfer buffers large writes let go of (young-gc.ts); absent, V8 alone decides. */
  youngGc?: YoungCollector;
  /** Where the MD5 of writes that ask for one runs (md5-thread.ts); absent, on the request's thread. */
  md5Thread?: Md5Thread;
  /** The reserve of free space that writes may not enter (disk-space.ts); absent, none. */
  space?: SpaceGuard;
  /** Told when a commit replaced a write, whose segments are then to reclaim (read-holds.ts). */
  onReplaced?: () => void;
  /** Failures of work the client does not wait for (abort, rewrap), logged without flooding. */
  report?: BackgroundReport;
}

export class ObjectWriter {
  readonly #store: ObjectStore;
  readonly #keys: KeyService;
  readonly #opts: ObjectWriterOptions;
  readonly #segmentSize: number;
  readonly #suite: number;
  readonly #smallSuite: number;
  readonly #metrics: DomainMetrics;
  readonly #youngGc: YoungCollector;
  readonly #space: SpaceGuard;
  readonly #report: BackgroundReport;

  constructor(store: ObjectStore, keys: KeyService, opts: ObjectWriterOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#opts = opts;
    this.#segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.#suite = opts.suite ?? SUITE_XCHACHA20_POLY1305;
    this.#smallSuite = opts.smallSuite ?? this.#suite;
    this.#metrics = opts.metrics ?? NO_METRICS;
    this.#youngGc = opts.youngGc ?? NO_YOUNG_GC;
    this.#space = opts.space ?? NO_SPACE_GUARD;
    this.#report = opts.report ?? NO_REPORT;
  }

  /** Checks a write's preconditions before any body byte is read (they are checked again at commit). */
  async precheck(owner: string, id: string, cond: WriteCondition): Promise<void> {
    validateObjectId(id);
    if (!cond.ifNoneMatch && !cond.ifMatch) return;
    checkCondition(await this.#store.getObject(owner, id), cond);
  }

  async put(input: PutInput): Promise<PutResult> {
    validateObjectId(input.id);
    if (input.contentLength !== undefined) checkObjectSize(input.contentLength, this.#opts.maxObjectBytes);
    // Before any byte is read or stored: an upload that would enter the reserve is refused (507).
    const claim = await this.#space.admit(input.kind === "item" ? "small" : "upload", input.contentLength);
    try {
      const result = await this.#storeBody(input, claim);
      this.#space.stored();
      return result;
    } catch (err) {
      if (err instanceof DiskFullError) this.#space.diskFull();
      throw err;
    } finally {
      claim.end();
    }
  }

  async #storeBody(input: PutInput, claim: SpaceClaim): Promise<PutResult> {
    const { owner, id } = input;
    const writeId = newWriteId();
    // A write known to fit in one segment may take another suite (cipher-choice.ts, smallSuite).
    const small = input.contentLength !== undefined && input.contentLength <= this.#segmentSize;
    const ctx = this.#context(owner, id, writeId, small ? this.#smallSuite : this.#suite);
    const dek = generateKey();
    let sealer: BodySealer | null = null;
    let cipher: SegmentCipher | null = null;
    try {
      const { kekVersion, wrappedDek } = await this.#keys.wrapDek(owner, dek, dekContext(owner, id, writeId));
      cipher = createSegmentCipher(dek, ctx);
      sealer = new BodySealer(this.#store, {
        owner,
        id,
        writeId,
        cipher,
        dek,
        segmentSize: this.#segmentSize,
        maxBytes: this.#opts.maxObjectBytes,
        ...(input.contentLength !== undefined ? { contentLength: input.contentLength } : {}),
        ...(input.digest ? { digest: input.digest } : {}),
        md5: input.md5 === true,
        md5Thread: this.#opts.md5Thread,
        youngGc: this.#youngGc,
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
        result = await this.#store.commitObject(meta, input.cond, body.pending);
      } else {
        await sealer.flush(body);
        result = await this.#store.commitObject(meta, input.cond);
      }
      sealer.began = false;
      if (!result.created) this.#opts.onReplaced?.();
      this.#metrics.objectStored(result.created, body.size);
      meta.created = result.createdAt;
      await this.#followRotation(meta, dek);
      return { meta, created: result.created, ...(metadata ? { metadata } : {}) };
    } finally {
      cipher?.dispose();
      zeroize(dek);
      if (sealer?.began) {
        // Aborted, refused or failed: no partial object, no garbage left behind.
        await this.#store.abortUpload(writeId).then(
          () => this.#report.succeeded("abort upload"),
          (err) => this.#report.failed("abort upload", err),
        );
      }
    }
  }

  /** A key rotation during the upload: the committed data key moves to the new primary at once. */
  async #followRotation(meta: ObjectMeta, dek: Buffer): Promise<void> {
    try {
      const context = dekContext(meta.owner, meta.id, meta.writeId);
      const fresh = await this.#keys.rewrapIfStale(meta.owner, meta.kekVersion, dek, context);
      if (!fresh) return;
      const { kekVersion, wrappedDek } = fresh;
      if (await this.#store.updateWrappedDek(meta.owner, meta.id, meta.writeId, kekVersion, wrappedDek)) {
        meta.kekVersion = kekVersion;
        meta.wrappedDek = wrappedDek;
      }
    } catch (err) {
      // The write stands under its older version; a rewrap job moves it later.
      this.#report.failed("rewrap after rotation", err);
    }
  }

  #context(owner: string, objectId: string, writeId: Buffer, suite: number): SegmentContext {
    return {
      formatVersion: FORMAT_VERSION,
      suite,
      segmentSize: this.#segmentSize,
      owner,
      objectId,
      writeId,
    };
  }
}
