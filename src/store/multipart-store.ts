// The port of multipart uploads (docs/FORMAT.md, "Multipart objects"). Parts stream in through the
// ObjectStore's upload machinery, each part write under its own write id (beginUpload with the
// part's write id, appendSegments, and abortUpload when it fails), so a crash mid-part is swept like
// any upload; commitPart then makes it the upload's part of that number. completeUpload turns the
// upload into an object in one transaction, without copying a byte: the object's row points at the
// upload's write id, and the parts stay where they are. The reclaimer purges a multipart object's
// part writes and manifest together with it. Adapters pass test/contract/multipart.contract.ts.
import type { CommitResult, WriteCondition } from "./object-store.js";
import type { MultipartUploadRecord, ObjectMeta, PartRecord } from "./records.js";

export interface UploadListOptions {
  /** Object ids that start with this. */
  prefix: string;
  /** Uploads strictly after this (object id, then upload id) position. */
  after?: { id: string; uploadId: string };
  limit: number;
}

export interface MultipartStore {
  /** Durable. Throws not_found when the owner does not exist. */
  createMultipart(upload: MultipartUploadRecord): Promise<void>;
  getMultipart(uploadId: string): Promise<MultipartUploadRecord | null>;
  /** The owner's uploads in progress, by object id (bytewise) then upload id. */
  listMultipart(owner: string, opts: UploadListOptions): Promise<MultipartUploadRecord[]>;
  /**
   * Durable, one transaction: makes `part` the upload's part of that number and ends its write's
   * upload registration (beginUpload); an earlier part of the same number goes to the reclaimer.
   * Throws not_found (and leaves the part write to its caller's abortUpload) when the upload is
   * gone: completed, aborted or expired meanwhile.
   */
  commitPart(part: PartRecord): Promise<void>;
  /** The upload's parts with numbers above `after`, ascending, at most `limit`. */
  listParts(uploadId: string, after: number, limit: number): Promise<PartRecord[]>;
  /**
   * Durable, one transaction: checks `cond` on (owner, id) (precondition_failed); checks that the
   * upload exists (not_found) and that each of `parts` (number and write id) is still its current
   * part (conflict: a part was replaced meanwhile); then points (owner, id) at `meta` (whose
   * writeId is the upload's, sealedMeta its metadata), records the parts and the sealed `manifest`
   * with the object, hands the replaced object's writes and every part not named to the
   * reclaimer, and forgets the upload.
   */
  completeMultipart(
    uploadId: string,
    meta: ObjectMeta,
    parts: readonly { number: number; writeId: Buffer }[],
    manifest: Buffer,
    cond: WriteCondition,
  ): Promise<CommitResult>;
  /** The sealed manifest of a completed multipart object's write, or null. */
  getManifest(writeId: Buffer): Promise<Buffer | null>;
  /**
   * Durable: forgets the upload; its parts go to the reclaimer. False when it did not exist.
   */
  abortMultipart(uploadId: string): Promise<boolean>;
  /** Ids of uploads begun before `before` (abandoned: SSE_S3_MULTIPART_TTL), at most `limit`. */
  expiredMultipart(before: Date, limit: number): Promise<string[]>;
}
