// Multipart uploads (S3's CreateMultipartUpload … CompleteMultipartUpload): one data key per
// upload, each part encrypted as it streams in under a part write of its own (format version 2),
// any order, in parallel, retried at will (multipart-parts.ts); Complete joins the named parts into
// the object without copying a byte, behind an authenticated manifest. docs/FORMAT.md, "Multipart
// objects".
import { randomBytes } from "node:crypto";
import { dekContext, generateKey, zeroize } from "../crypto/envelope.js";
import { EtagHasher } from "../crypto/etag.js";
import { openJson, RecordPurpose, sealJson } from "../crypto/sealed-record.js";
import { FORMAT_VERSION_PART, SEGMENT_SIZE, SUITE_XCHACHA20_POLY1305 } from "../crypto/segment-format.js";
import { AppError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import { ID_HIGH } from "../store/id-order.js";
import type { MultipartStore } from "../store/multipart-store.js";
import type { ObjectStore, WriteCondition } from "../store/object-store.js";
import type { MultipartUploadRecord, ObjectMeta } from "../store/records.js";
import {
  manifestOf,
  manifestSize,
  multipartEtag,
  type RequestedPart,
  type UploadedPart,
} from "./multipart-manifest.js";
import {
  MultipartParts,
  type PartOptions,
  type PartUpload,
  type UploadedPartInfo,
  uploadDek,
} from "./multipart-parts.js";
import { validateObjectId } from "./object-id.js";
import { isObjectMetadata, type ObjectMetadata } from "./object-metadata.js";
import { checkObjectSize } from "./size-limit.js";
import { newWriteId } from "./write-id.js";

export interface UploadSummary {
  uploadId: string;
  id: string;
  created: Date;
}

export interface MultipartOptions extends PartOptions {
  segmentSize?: number;
  /** The suite new uploads are sealed with (cipher-choice.ts); absent, XChaCha20-Poly1305. Each part takes its upload's. */
  suite?: number;
}

export class MultipartService {
  readonly #segmentSize: number;
  readonly #parts: MultipartParts;

  readonly #store: MultipartStore;
  readonly #keys: KeyService;
  readonly #opts: MultipartOptions;

  constructor(store: MultipartStore, objects: ObjectStore, keys: KeyService, opts: MultipartOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#opts = opts;
    this.#segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.#parts = new MultipartParts(store, objects, keys, opts);
  }

  async create(
    owner: string,
    id: string,
    init: { contentType: string; metadata: ObjectMetadata },
  ): Promise<{ uploadId: string }> {
    validateObjectId(id);
    const writeId = newWriteId();
    const dek = generateKey();
    try {
      const { kekVersion, wrappedDek } = await this.#keys.wrapDek(owner, dek, dekContext(owner, id, writeId));
      const uploadId = randomBytes(24).toString("base64url");
      await this.#store.createMultipart({
        uploadId,
        owner,
        id,
        writeId,
        formatVersion: FORMAT_VERSION_PART,
        suite: this.#opts.suite ?? SUITE_XCHACHA20_POLY1305,
        segmentSize: this.#segmentSize,
        kekVersion,
        wrappedDek,
        contentType: init.contentType,
        sealedMeta: sealJson(dek, { owner, objectId: id, writeId }, RecordPurpose.metadata, init.metadata),
        created: new Date(),
      });
      return { uploadId };
    } finally {
      zeroize(dek);
    }
  }

  /** The upload, when it is this owner's upload to this object; not_found otherwise. */
  async #open(owner: string, id: string, uploadId: string): Promise<MultipartUploadRecord> {
    const u = uploadId.length <= 128 ? await this.#store.getMultipart(uploadId) : null;
    if (!u || u.owner !== owner || u.id !== id) throw new AppError("not_found", "no such multipart upload");
    return u;
  }

  async uploadPart(p: PartUpload): Promise<UploadedPartInfo> {
    return this.#parts.upload(await this.#open(p.owner, p.id, p.uploadId), p);
  }

  async listParts(
    owner: string,
    id: string,
    uploadId: string,
    page: { after: number; limit: number },
  ): Promise<{ parts: UploadedPartInfo[]; truncated: boolean }> {
    const u = await this.#open(owner, id, uploadId);
    const parts = await this.#parts.partsOf(u, page.after, page.limit + 1);
    const truncated = parts.length > page.limit;
    return { parts: parts.slice(0, page.limit), truncated };
  }

  /**
   * Joins the named parts into the object, as S3 checks them (multipart-manifest.ts), atomically
   * (MultipartStore.completeMultipart). The object's S3 ETag is S3's `md5-of-md5s-N`.
   */
  async complete(c: {
    owner: string;
    id: string;
    uploadId: string;
    parts: readonly (RequestedPart & { checksums?: Record<string, string> })[];
    cond: WriteCondition;
  }): Promise<ObjectMeta & { metadata: ObjectMetadata }> {
    const u = await this.#open(c.owner, c.id, c.uploadId);
    // One listing: a part committed meanwhile must not shift the records against their rows.
    const rows = await this.#store.listParts(u.uploadId, 0, 10_001);
    const infos = await this.#parts.openParts(u, rows);
    const uploaded = new Map<number, UploadedPart>();
    for (const [i, r] of rows.entries())
      uploaded.set(r.number, { number: r.number, writeId: r.writeId, size: r.size, md5: infos[i]!.md5 });
    const manifest = manifestOf(c.parts, uploaded);
    for (const want of c.parts) {
      const got = infos.find((p) => p.number === want.number)?.checksums ?? {};
      for (const [alg, value] of Object.entries(want.checksums ?? {}))
        if (got[alg] !== undefined && got[alg] !== value)
          throw new AppError(
            "invalid_part",
            `part ${want.number} was not uploaded with that ${alg} checksum`,
          );
    }
    const size = manifestSize(manifest);
    checkObjectSize(size, this.#opts.maxObjectBytes);
    const dek = await uploadDek(this.#keys, u);
    try {
      const binding = { owner: u.owner, objectId: u.id, writeId: u.writeId };
      const stored = u.sealedMeta
        ? openJson<unknown>(dek, binding, RecordPurpose.metadata, u.sealedMeta)
        : null;
      const base: ObjectMetadata = isObjectMetadata(stored) ? stored : { contentType: u.contentType };
      const metadata: ObjectMetadata = { ...base, etag: multipartEtag(manifest.parts) };
      const sealedManifest = sealJson(dek, binding, RecordPurpose.manifest, manifest);
      // The native API's keyed ETag: over the manifest (it names every part write) and the size.
      const etag = new EtagHasher(dek);
      etag.update(sealedManifest.subarray(sealedManifest.length - 16));
      const sizeBytes = Buffer.alloc(8);
      sizeBytes.writeBigUInt64BE(BigInt(size));
      etag.update(sizeBytes);
      const now = new Date();
      const meta: ObjectMeta = {
        owner: u.owner,
        id: u.id,
        kind: "blob",
        size,
        contentType: base.contentType,
        etag: etag.digest(),
        created: now,
        modified: now,
        writeId: u.writeId,
        formatVersion: FORMAT_VERSION_PART,
        suite: u.suite,
        segmentSize: u.segmentSize,
        kekVersion: u.kekVersion,
        wrappedDek: u.wrappedDek,
        sealedMeta: sealJson(dek, binding, RecordPurpose.metadata, metadata),
      };
      const parts = manifest.parts.map((p) => ({ number: p.n, writeId: Buffer.from(p.w, "hex") }));
      const result = await this.#store.completeMultipart(u.uploadId, meta, parts, sealedManifest, c.cond);
      this.#opts.reclaim();
      return { ...meta, created: result.createdAt, metadata };
    } finally {
      zeroize(dek);
    }
  }

  async abort(owner: string, id: string, uploadId: string): Promise<void> {
    const u = await this.#open(owner, id, uploadId);
    if (!(await this.#store.abortMultipart(u.uploadId)))
      throw new AppError("not_found", "no such multipart upload");
    this.#opts.reclaim();
  }

  /**
   * The owner's uploads in progress under `prefix`, by key then upload id, folded into common
   * prefixes by `delimiter` as S3's ListMultipartUploads does.
   */
  async listUploads(
    owner: string,
    q: { prefix: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; limit: number },
  ): Promise<{
    uploads: UploadSummary[];
    prefixes: string[];
    truncated: boolean;
    /** Where the next page begins (S3's NextKeyMarker and NextUploadIdMarker) when truncated. */
    next?: { keyMarker: string; uploadIdMarker?: string };
  }> {
    const uploads: UploadSummary[] = [];
    const prefixes: string[] = [];
    // A key marker that is a common prefix (a page ended on it) skips every key under it.
    const pastFolder =
      q.keyMarker !== undefined &&
      q.uploadIdMarker === undefined &&
      q.delimiter &&
      q.keyMarker.endsWith(q.delimiter);
    let after =
      q.keyMarker !== undefined
        ? pastFolder
          ? { id: q.keyMarker + ID_HIGH, uploadId: "" }
          : { id: q.keyMarker, uploadId: q.uploadIdMarker ?? ID_HIGH }
        : undefined;
    let entries = 0;
    let truncated = false;
    let last: { keyMarker: string; uploadIdMarker?: string } | undefined;
    for (;;) {
      const batch = await this.#store.listMultipart(owner, {
        prefix: q.prefix,
        ...(after ? { after } : {}),
        limit: 1000,
      });
      for (const u of batch) {
        after = { id: u.id, uploadId: u.uploadId };
        const rest = u.id.slice(q.prefix.length);
        const cut = q.delimiter ? rest.indexOf(q.delimiter) : -1;
        if (cut >= 0) {
          const p = q.prefix + rest.slice(0, cut + q.delimiter!.length);
          if (prefixes.at(-1) === p) continue;
          if (entries === q.limit) {
            truncated = true;
            break;
          }
          prefixes.push(p);
          last = { keyMarker: p };
        } else {
          if (entries === q.limit) {
            truncated = true;
            break;
          }
          uploads.push({ uploadId: u.uploadId, id: u.id, created: u.created });
          last = { keyMarker: u.id, uploadIdMarker: u.uploadId };
        }
        entries++;
      }
      if (truncated || batch.length < 1000) break;
    }
    return { uploads, prefixes, truncated, ...(truncated && last ? { next: last } : {}) };
  }

  /** Aborts uploads begun more than `ttlMs` ago (SSE_S3_MULTIPART_TTL); returns how many. */
  async sweepExpired(ttlMs: number): Promise<number> {
    let n = 0;
    for (;;) {
      const ids = await this.#store.expiredMultipart(new Date(Date.now() - ttlMs), 100);
      for (const id of ids) if (await this.#store.abortMultipart(id)) n++;
      if (ids.length < 100) break;
    }
    if (n > 0) this.#opts.reclaim();
    return n;
  }
}
