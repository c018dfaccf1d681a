// The port of objects: metadata, uploads, ciphertext segments, the reclaiming of replaced writes,
// and the key bookkeeping of objects (rewrap, minimum decryption version). Adapters (sqlite/,
// postgres/) implement it and pass test/contract/objects.contract.ts. Everything is async so that a
// networked database fits the same shape. Adapters throw StorageUnavailableError when the database
// cannot be reached and AppError("precondition_failed") when a write condition fails.
import type { DekRewrap, ObjectKeyInfo, ObjectMeta } from "./records.js";

export interface ListOptions {
  /** Return ids strictly after this one in list order. */
  after?: string;
  prefix?: string;
  limit: number;
}

/** Conditions checked inside the commit transaction (the rule: write-condition.ts). */
export interface WriteCondition {
  /** `If-None-Match: *`: fail when the object exists. */
  ifNoneMatch?: boolean;
  /** `If-Match`: fail unless the current ETag is one of these (or "*" and it exists). */
  ifMatch?: string[];
}

export interface CommitResult {
  created: boolean;
  /** The object's `created` as stored: the first version's when this write replaced one. */
  createdAt: Date;
}

/** getObjectForRead's answer: the metadata, and the sealed segment of a small enough object. */
export interface ObjectForRead {
  meta: ObjectMeta;
  /**
   * The object's only sealed segment when its size is at most the `inlineMax` asked for (and at
   * most one segment), else null: read the segments with readSegments. The buffer belongs to the
   * caller, as readSegments' do.
   */
  segment: Buffer | null;
}

export interface ObjectStore {
  // --- objects -------------------------------------------------------------------------------
  getObject(owner: string, id: string): Promise<ObjectMeta | null>;
  /**
   * getObject and, for an object of at most `inlineMax` bytes in a single segment, that segment,
   * from one consistent read: one round trip for the small objects and items most reads are for.
   */
  getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null>;
  /** Ids in list order: canonical decimal integers first, numerically; then the rest, bytewise. */
  listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]>;
  /** Greatest canonical-integer id of the owner, or null. */
  maxIntegerId(owner: string): Promise<number | null>;
  /**
   * In one durable transaction: checks `cond`, points (owner,id) at `meta.writeId`, writes the
   * optional inline segments, ends the upload and hands the replaced write's segments to the
   * reclaimer. Throws AppError("precondition_failed") when `cond` fails (nothing changes), and
   * not_found when the owner does not exist.
   */
  commitObject(meta: ObjectMeta, cond: WriteCondition, inlineSegments?: Buffer[]): Promise<CommitResult>;
  /** Deletes the object; its segments go to the reclaimer. Returns false when it did not exist. */
  deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean>;
  /**
   * Deletes every object, upload, bucket and multipart upload (with its parts) of `owner` in one
   * durable transaction and purges their segments at once, a multipart object's parts included
   * (the owner's keys are destroyed first, so no reader needs them). Idempotent: a purge cut short
   * by a crash is finished by the reclaimer.
   */
  deleteOwnerObjects(owner: string): Promise<void>;

  // --- uploads and segments ------------------------------------------------------------------
  /** Registers an upload so that its segments can be reclaimed if it never commits. */
  beginUpload(owner: string, id: string, writeId: Buffer): Promise<void>;
  /**
   * Stores segments `first, first+1, …` of an upload. Not visible to readers until commit. The
   * store keeps no reference to the buffers once the promise settles: the caller reuses them.
   */
  appendSegments(writeId: Buffer, first: number, segments: Buffer[]): Promise<void>;
  /** Drops an upload and its segments at once; nothing when it is gone (committed, or never begun). */
  abortUpload(writeId: Buffer): Promise<void>;
  /** Reclaims uploads that were never committed (crash, kill). Returns how many. */
  sweepAbandonedUploads(): Promise<number>;
  /**
   * `count` segments from `first` (fewer at the end). Returns [] when the write is gone. The buffers
   * belong to the caller, who may overwrite them (segments are decrypted in place).
   */
  readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]>;
  /**
   * Deletes the segments of replaced or deleted writes, except those in `busy` (being read); a
   * multipart object's write takes its parts' segments, its parts and its manifest with it.
   */
  reclaim(busy: ReadonlySet<string>): Promise<number>;
  /**
   * Blobs that nothing names (no object, part, upload or trash entry): what a crash or a cut-short
   * purge left, which the sweep removes. Counted, never removed here. Zero where there are no blobs.
   */
  orphanedBlobs(): Promise<{ count: number; bytes: number }>;

  // --- key bookkeeping of objects (rewrap, min decryption version) ---------------------------
  objectKeyInfo(owner: string, afterId: string | null, limit: number): Promise<ObjectKeyInfo[]>;
  /** Rewraps one object's DEK; false when the object was replaced meanwhile (writeId changed). */
  updateWrappedDek(
    owner: string,
    id: string,
    writeId: Buffer,
    kekVersion: number,
    wrappedDek: Buffer,
  ): Promise<boolean>;
  /**
   * updateWrappedDek for many objects of one owner in one durable transaction (all or nothing);
   * items whose object was replaced or deleted meanwhile are skipped. Returns how many changed.
   */
  updateWrappedDeks(owner: string, items: DekRewrap[]): Promise<number>;
  /** Number of objects and multipart uploads in progress per KEK version (each holds a wrapped DEK). */
  countByKekVersion(owner: string): Promise<Map<number, number>>;
}
