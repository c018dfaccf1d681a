// The records the storage ports hand in and out: what a user, a token, an object, a bucket, a
// multipart upload, a job and a key version are, apart from any database. The ports are
// object-store.ts, bucket-store.ts, multipart-store.ts, account-store.ts, job-store.ts and
// key-store.ts; stores.ts bundles them.

export type Role = "admin" | "user";
export type Scope = "read" | "write";
export type ObjectKind = "item" | "blob";

export interface UserRecord {
  /** Stable random id; objects and keys are bound to it, never to the (reusable) name. */
  uid: string;
  name: string;
  role: Role;
  created: Date;
  /**
   * When the user first authenticated with a credential of its own; null while it is enrolling
   * (created, or reset, and not yet used). Admins may issue its credentials only while null.
   */
  enrolledAt: Date | null;
}

export interface TokenRecord {
  /** Public id, part of the token string; shown in listings. */
  id: string;
  uid: string;
  label: string | null;
  scopes: Scope[];
  /** Hash of the token's secret part; the secret itself is never stored. */
  secretHash: Buffer;
  created: Date;
  lastUsed: Date | null;
  expiresAt: Date | null;
  /**
   * Who issued it: a user name, `reset` (an admin's break-glass reset), `bootstrap` (the first
   * start's admin token), or null for tokens issued before this was recorded.
   */
  issuedBy: string | null;
}

/** An S3 access key: its id is public, its secret is kept wrapped under the owner's KEK. */
export interface AccessKeyRecord {
  /** The access key id, e.g. SSEK…: what a client sends in its SigV4 credential. */
  id: string;
  uid: string;
  label: string | null;
  scopes: Scope[];
  /** The KEK version that wrapped the secret. */
  kekVersion: number;
  /** The secret, wrapped like a DEK under the owner's KEK (context: owner, access key id). */
  wrappedSecret: Buffer;
  created: Date;
  lastUsed: Date | null;
  expiresAt: Date | null;
  /** As for tokens: a user name, `reset`, or null. */
  issuedBy: string | null;
}

/** How one write's bytes are encrypted: what an object and the upload that becomes one both carry. */
export interface WriteCipher {
  /** Unique per write; binds the ciphertext to this write. 16 bytes. */
  writeId: Buffer;
  formatVersion: number;
  suite: number;
  segmentSize: number;
  kekVersion: number;
  /** The write's DEK, wrapped under the owner's KEK (context: owner, id, writeId). */
  wrappedDek: Buffer;
}

export interface ObjectMeta extends WriteCipher {
  owner: string;
  id: string;
  kind: ObjectKind;
  size: number;
  contentType: string;
  etag: string;
  created: Date;
  modified: Date;
  /**
   * The write's sealed metadata record (docs/FORMAT.md, "Sealed records", purpose 2): S3 headers,
   * user metadata, the plaintext's MD5 and checksums, encrypted under the write's DEK; null for
   * writes that have none (the native API's).
   */
  sealedMeta: Buffer | null;
}

/** A bucket made by CreateBucket (a bucket also exists while objects under `name/` do). */
export interface BucketRecord {
  owner: string;
  name: string;
  created: Date;
}

/**
 * A multipart upload in progress: the object it will become, and that object's data key. Its
 * WriteCipher is the object's: every part is bound to its write id.
 */
export interface MultipartUploadRecord extends WriteCipher {
  uploadId: string;
  owner: string;
  /** The object id it will complete to. */
  id: string;
  contentType: string;
  /** The metadata record the object will have (sealed under the DEK, bound to writeId). */
  sealedMeta: Buffer | null;
  created: Date;
}

/** The latest upload of one part number of a multipart upload. */
export interface PartRecord {
  uploadId: string;
  number: number;
  /** This upload of the part: its segments are stored under it (readSegments, reclaim). */
  writeId: Buffer;
  size: number;
  /** The part record (size, MD5, checksums), sealed under the upload's DEK, bound to writeId. */
  sealedInfo: Buffer;
  created: Date;
}

/** The key bookkeeping of one object: which write it holds and how its data key is wrapped. */
export interface ObjectKeyInfo {
  id: string;
  writeId: Buffer;
  kekVersion: number;
  wrappedDek: Buffer;
}

/** One object's data key, rewrapped: applied only while the object still holds write `writeId`. */
export type DekRewrap = ObjectKeyInfo;

export type JobState = "running" | "done" | "failed";

export interface JobRecord {
  id: string;
  kind: string;
  /** uid of the user who started it (owner of the job). */
  owner: string;
  /** What it acts on (e.g. a user uid), kind-specific. */
  target: string | null;
  state: JobState;
  done: number;
  total: number;
  error: string | null;
  /** Where to resume after a crash, kind-specific. */
  cursor: string | null;
  /** What the job found so far (JSON text, kind-specific; e.g. verify's damaged objects). */
  result: string | null;
  created: Date;
  updated: Date;
}

export interface KekVersionRecord {
  owner: string;
  version: number;
  /** Root-key version that wrapped `wrappedKek`. */
  rootVersion: number;
  wrappedKek: Buffer;
  created: Date;
}

export interface UserKeyState {
  owner: string;
  primaryVersion: number;
  minDecryptionVersion: number;
}

/** A KEK version's new wrapping under a root version. */
export interface KekRewrap {
  owner: string;
  version: number;
  rootVersion: number;
  wrappedKek: Buffer;
}
