// The parts of a multipart upload: each part encrypted as it streams in, under a part write of its
// own (format version 2) and the upload's data key, with a sealed record of its size, MD5 and
// checksums; and those records opened again for ListParts and CompleteMultipartUpload.
import { dekContext, zeroize } from "../crypto/envelope.js";
import { openJson, RecordPurpose, sealJson } from "../crypto/sealed-record.js";
import { createSegmentCipher, FORMAT_VERSION_PART, type SegmentCipher } from "../crypto/segment-format.js";
import { DiskFullError, IntegrityError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { MultipartStore } from "../store/multipart-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { MultipartUploadRecord, PartRecord } from "../store/records.js";
import { NO_YOUNG_GC, type YoungCollector } from "../young-gc.js";
import { BodySealer } from "./body-sealer.js";
import type { Md5Thread } from "./md5-thread.js";
import { MAX_PART_BYTES } from "./multipart-manifest.js";
import { checkObjectSize } from "./size-limit.js";
import { NO_SPACE_GUARD, type SpaceClaim, type SpaceGuard } from "./storage-reserve.js";
import { newWriteId } from "./write-id.js";

/** What a part record (sealed) holds. */
interface PartInfo {
  /** The part's number: a row moved to another number no longer matches its record. */
  number?: number;
  size: number;
  md5: string;
  checksums: Record<string, string>;
}

export interface PartUpload {
  owner: string;
  id: string;
  uploadId: string;
  number: number;
  body: AsyncIterable<Buffer> | Iterable<Buffer>;
  contentLength?: number;
  /** Checksums of the part's plaintext, asked once the body is in (the caller verified them). */
  checksums?: () => Record<string, string>;
}

export interface UploadedPartInfo {
  number: number;
  size: number;
  /** Hex MD5: the part's S3 ETag. */
  md5: string;
  checksums: Record<string, string>;
  created: Date;
}

export interface PartOptions {
  maxObjectBytes: number;
  youngGc?: YoungCollector;
  /** Hands replaced and abandoned part writes to the reclaimer (ObjectService.scheduleReclaim). */
  reclaim: () => void;
  onError?: (err: unknown, what: string) => void;
  /** Where the parts' MD5 runs (md5-thread.ts); absent, on the request's thread. */
  md5Thread?: Md5Thread;
  /** The reserve of free space that writes may not enter (storage-reserve.ts), as for objects. */
  space?: SpaceGuard;
}

/** The upload's data key, unwrapped (the caller zeroes it). */
export function uploadDek(keys: KeyService, u: MultipartUploadRecord): Promise<Buffer> {
  return keys.unwrapDek(u.owner, u.kekVersion, u.wrappedDek, dekContext(u.owner, u.id, u.writeId));
}

export class MultipartParts {
  readonly #youngGc: YoungCollector;

  readonly #store: MultipartStore;
  readonly #objects: ObjectStore;
  readonly #keys: KeyService;
  readonly #opts: PartOptions;

  constructor(store: MultipartStore, objects: ObjectStore, keys: KeyService, opts: PartOptions) {
    this.#store = store;
    this.#objects = objects;
    this.#keys = keys;
    this.#opts = opts;
    this.#youngGc = opts.youngGc ?? NO_YOUNG_GC;
  }

  /** Stores part `p` of upload `u`, replacing a part of the same number. */
  async upload(u: MultipartUploadRecord, p: PartUpload): Promise<UploadedPartInfo> {
    if (p.contentLength !== undefined) checkObjectSize(p.contentLength, MAX_PART_BYTES);
    const space = this.#opts.space ?? NO_SPACE_GUARD;
    // Before any byte is stored: a part that would enter the reserve is refused (507).
    const claim = await space.admit("upload", p.contentLength);
    try {
      const part = await this.#storePart(u, p, claim);
      space.stored();
      return part;
    } catch (err) {
      if (err instanceof DiskFullError) space.diskFull();
      throw err;
    } finally {
      claim.end();
    }
  }

  async #storePart(u: MultipartUploadRecord, p: PartUpload, claim: SpaceClaim): Promise<UploadedPartInfo> {
    const writeId = newWriteId();
    const dek = await uploadDek(this.#keys, u);
    let sealer: BodySealer | null = null;
    let cipher: SegmentCipher | null = null;
    try {
      cipher = createSegmentCipher(dek, {
        formatVersion: FORMAT_VERSION_PART,
        suite: u.suite,
        segmentSize: u.segmentSize,
        owner: u.owner,
        objectId: u.id,
        writeId,
        part: { uploadWriteId: u.writeId, number: p.number },
      });
      sealer = new BodySealer(this.#objects, {
        owner: u.owner,
        id: u.id,
        writeId,
        cipher,
        dek,
        segmentSize: u.segmentSize,
        maxBytes: Math.min(MAX_PART_BYTES, this.#opts.maxObjectBytes),
        ...(p.contentLength !== undefined ? { contentLength: p.contentLength } : {}),
        md5: true,
        md5Thread: this.#opts.md5Thread,
        youngGc: this.#youngGc,
        onChunk: (n) => claim.add(n),
      });
      const body = await sealer.seal(p.body);
      cipher.dispose();
      await sealer.flush(body);
      const info: PartInfo = {
        number: p.number,
        size: body.size,
        md5: body.md5!.toString("hex"),
        checksums: p.checksums?.() ?? {},
      };
      const created = new Date();
      await this.#store.commitPart({
        uploadId: u.uploadId,
        number: p.number,
        writeId,
        size: body.size,
        sealedInfo: sealJson(dek, { owner: u.owner, objectId: u.id, writeId }, RecordPurpose.part, info),
        created,
      });
      sealer.began = false;
      // The part this one replaced, if any, waits for the reclaimer.
      this.#opts.reclaim();
      return { number: p.number, ...info, created };
    } finally {
      cipher?.dispose();
      zeroize(dek);
      if (sealer?.began)
        await this.#objects
          .abortUpload(writeId)
          .catch((err) => this.#opts.onError?.(err, "abort part upload"));
    }
  }

  /** Opens the part records of an upload's parts (all, or a page). */
  async partsOf(u: MultipartUploadRecord, after: number, limit: number): Promise<UploadedPartInfo[]> {
    return this.openParts(u, await this.#store.listParts(u.uploadId, after, limit));
  }

  /** Opens the part records of `rows`, in their order. */
  async openParts(u: MultipartUploadRecord, rows: readonly PartRecord[]): Promise<UploadedPartInfo[]> {
    if (rows.length === 0) return [];
    const dek = await uploadDek(this.#keys, u);
    try {
      return rows.map((r) => {
        const info = openJson<PartInfo>(
          dek,
          { owner: u.owner, objectId: u.id, writeId: r.writeId },
          RecordPurpose.part,
          r.sealedInfo,
        );
        // Records sealed before they named their part (no `number`) are taken on their write id alone.
        if (
          info.size !== r.size ||
          typeof info.md5 !== "string" ||
          (info.number !== undefined && info.number !== r.number)
        )
          throw new IntegrityError("a part record does not match its part");
        return {
          number: r.number,
          size: r.size,
          md5: info.md5,
          checksums: info.checksums ?? {},
          created: r.created,
        };
      });
    } finally {
      zeroize(dek);
    }
  }
}
