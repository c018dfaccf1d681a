// The storage ports. Adapters (sqlite/, postgres/) implement them and must pass the contract suite
// in test/contract. Everything here is async so that a networked database fits the same shape.
// Adapters throw StorageUnavailableError when the database cannot be reached and
// PreconditionFailed (an AppError with code precondition_failed) when a write condition fails.

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

/** Options of createToken. */
export interface CreateTokenOptions {
  /** Refuse (AppError "enrolled") unless the user is still enrolling: an admin issuing for another user. */
  onlyWhileEnrolling?: boolean;
}

export interface ObjectMeta {
  owner: string;
  id: string;
  kind: ObjectKind;
  size: number;
  contentType: string;
  etag: string;
  created: Date;
  modified: Date;
  /** Unique per write; binds the ciphertext to this write. 16 bytes. */
  writeId: Buffer;
  formatVersion: number;
  suite: number;
  segmentSize: number;
  kekVersion: number;
  wrappedDek: Buffer;
}

export interface ObjectKeyInfo {
  id: string;
  writeId: Buffer;
  kekVersion: number;
  wrappedDek: Buffer;
}

/** One object's data key, rewrapped: applied only while the object still holds write `writeId`. */
export type DekRewrap = ObjectKeyInfo;

export interface ListOptions {
  /** Return ids strictly after this one in list order. */
  after?: string;
  prefix?: string;
  limit: number;
}

/** Conditions checked inside the commit transaction. */
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

export type JobPatch = Partial<Pick<JobRecord, "state" | "done" | "total" | "error" | "cursor" | "result">>;

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

/** The exclusion `exclusively` holds while its function runs. */
export interface HeldLock {
  /** Resolves if the exclusion still holds; throws StorageUnavailableError if it was lost. */
  confirm(): Promise<void>;
}

export interface ObjectStore {
  // --- objects -------------------------------------------------------------------------------
  getObject(owner: string, id: string): Promise<ObjectMeta | null>;
  /**
   * getObject and, for an object of at most `inlineMax` bytes in a single segment, that segment,
   * from one consistent read: one round trip for the small objects and items most reads are for.
   */
  getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null>;
  /**
   * Runs `fn` while no other `exclusively(name, …)` runs, in this process or in any other process
   * on the same store: for rare changes whose checks must see each other's outcome (deleting an
   * admin must leave one). `fn` may use the store meanwhile. Before a step it cannot undo, `fn`
   * calls `held.confirm()`, which throws StorageUnavailableError if the exclusion was lost on the
   * way (PostgreSQL ends a lock with its connection).
   */
  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T>;
  /** Ids in list order: canonical decimal integers first, numerically; then the rest, bytewise. */
  listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]>;
  /** Greatest canonical-integer id of the owner, or null. */
  maxIntegerId(owner: string): Promise<number | null>;
  /** Registers an upload so that its segments can be reclaimed if it never commits. */
  beginUpload(owner: string, id: string, writeId: Buffer): Promise<void>;
  /**
   * Stores segments `first, first+1, …` of an upload. Not visible to readers until commit. The
   * store keeps no reference to the buffers once the promise settles: the caller reuses them.
   */
  appendSegments(writeId: Buffer, first: number, segments: Buffer[]): Promise<void>;
  /**
   * In one durable transaction: checks `cond`, points (owner,id) at `meta.writeId`, writes the
   * optional inline segments, ends the upload and hands the replaced write's segments to the
   * reclaimer. Throws AppError("precondition_failed") when `cond` fails (nothing changes).
   */
  commitObject(meta: ObjectMeta, cond: WriteCondition, inlineSegments?: Buffer[]): Promise<CommitResult>;
  /** Drops an upload and its segments at once. */
  abortUpload(writeId: Buffer): Promise<void>;
  /** Reclaims uploads that were never committed (crash, kill). Returns how many. */
  sweepAbandonedUploads(): Promise<number>;
  /** Deletes the object; its segments go to the reclaimer. Returns false when it did not exist. */
  deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean>;
  /**
   * `count` segments from `first` (fewer at the end). Returns [] when the write is gone. The buffers
   * belong to the caller, who may overwrite them (segments are decrypted in place).
   */
  readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]>;
  /** Deletes the segments of replaced or deleted writes, except those in `busy` (being read). */
  reclaim(busy: ReadonlySet<string>): Promise<number>;

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
  /** Number of objects per KEK version. */
  countByKekVersion(owner: string): Promise<Map<number, number>>;

  // --- users and tokens ----------------------------------------------------------------------
  countUsers(): Promise<number>;
  createUser(user: UserRecord): Promise<void>;
  getUserByName(name: string): Promise<UserRecord | null>;
  getUserByUid(uid: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  /** Removes the user, its tokens and all its objects (segments included). */
  deleteUser(uid: string): Promise<boolean>;
  /**
   * Stores a token. With `onlyWhileEnrolling`, checks in the same transaction that the user is still
   * enrolling, so that a first authentication racing with it either comes first (the token is
   * refused with AppError "enrolled") or after (the user authenticates, enrolled from then on).
   */
  createToken(token: TokenRecord, opts?: CreateTokenOptions): Promise<void>;
  /** Records the user's first authentication with its own credential (no-op once enrolled). */
  markEnrolled(uid: string, at: Date): Promise<void>;
  /**
   * Break-glass reset, in one durable transaction: revokes every credential of the user, makes it
   * enrolling again and stores `token` (its one new enrollment token). Returns how many
   * credentials were revoked, or null when the user does not exist.
   */
  resetUser(uid: string, token: TokenRecord): Promise<number | null>;
  getToken(id: string): Promise<TokenRecord | null>;
  /** A token and its user in one lookup (every authenticated request); null when either is missing. */
  getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null>;
  listTokens(uid: string): Promise<TokenRecord[]>;
  deleteToken(uid: string, id: string): Promise<boolean>;
  touchToken(id: string, at: Date): Promise<void>;

  // --- jobs ----------------------------------------------------------------------------------
  createJob(job: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  updateJob(id: string, patch: JobPatch): Promise<void>;
  /**
   * Takes the lease of one running job whose lease is free or expired, so that exactly one
   * process works on it; returns null when there is none. An adapter whose database only one
   * process may open (SQLite) frees every lease when it opens: their holder died with its process.
   * `renewJobLease(id, worker, -1)` gives a lease back (graceful stop).
   */
  claimJob(worker: string, leaseMs: number): Promise<JobRecord | null>;
  renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean>;

  ping(): Promise<void>;
  close(): Promise<void>;
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

/** Wrapped keys, kept apart from objects (keys.db) so that restoring objects never restores a key. */
export interface KeyStore {
  /** Creates the user's key with its first version. */
  createUserKey(state: UserKeyState, first: KekVersionRecord): Promise<void>;
  getUserKeyState(owner: string): Promise<UserKeyState | null>;
  listKekVersions(owner: string): Promise<KekVersionRecord[]>;
  getKekVersion(owner: string, version: number): Promise<KekVersionRecord | null>;
  /** Adds a version and makes it primary. */
  addKekVersion(rec: KekVersionRecord): Promise<void>;
  /**
   * Retirement, in one transaction: raises the minimum decryption version to `version` (never
   * lowers it) and erases every version below it (secure_delete where possible). Throws not_found
   * when the user has no key.
   */
  retireKekVersionsBelow(owner: string, version: number): Promise<void>;
  /**
   * Root rotation: replaces the wrapping of each listed version, all in one transaction (one
   * fsync for a page of versions). A version that no longer exists (its user was deleted
   * meanwhile) is skipped.
   */
  rewrapKekVersions(rewraps: readonly KekRewrap[]): Promise<void>;
  /** All KEK versions wrapped by a root version other than `rootVersion`, a page at a time. */
  kekVersionsNotWrappedBy(rootVersion: number, limit: number): Promise<KekVersionRecord[]>;
  /** How many KEK versions kekVersionsNotWrappedBy would list in all (root rotation progress). */
  countKekVersionsNotWrappedBy(rootVersion: number): Promise<number>;
  /** Crypto-shredding: every version of the user's key, erased (secure_delete where possible). */
  destroyUserKeys(owner: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
