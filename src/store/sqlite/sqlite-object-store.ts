// The embedded ObjectStore: metadata and ciphertext segments in one SQLite file (objects.db), so that
// one transaction covers both. better-sqlite3 is synchronous; long deletions run in small batches
// that yield to the event loop between them.
import { statSync } from "node:fs";
import { setImmediate as nextTick } from "node:timers/promises";
import { AppError } from "../../errors.js";
import { KeyedQueue } from "../../keyed-queue.js";
import { ID_HIGH, integerIdValue, prefixAdmitsIntegers } from "../id-order.js";
import type * as Rows from "../rows.js";
import { OBJECT_COLUMNS, OBJECT_COLUMNS_OF_O, sqliteRows } from "../rows.js";
import type {
  CommitResult,
  DekRewrap,
  HeldLock,
  JobPatch,
  JobRecord,
  ListOptions,
  ObjectForRead,
  ObjectKeyInfo,
  ObjectMeta,
  ObjectStore,
  TokenRecord,
  UserRecord,
  WriteCondition,
} from "../store.js";
import { checkWriteCondition } from "../write-condition.js";
import {
  BackgroundCheckpointer,
  type CheckpointEvents,
  NO_CHECKPOINT_EVENTS,
} from "./background-checkpoint.js";
import { type EmergencySpace, withEmergencyRoom } from "./emergency-space.js";
import {
  type Db,
  isConstraint,
  isDiskFull,
  OBJECTS_SCHEMA,
  openDatabase,
  storageFault,
} from "./migrations.js";

/** 16 KiB pages: the best measured write throughput for 64 KiB segments, ~3% space overhead. */
const PAGE_SIZE = 16384;
/**
 * Backstop only: a worker thread checkpoints continuously (background-checkpoint.ts); the main
 * connection checkpoints itself only if the WAL reaches ~256 MiB because the worker fell behind.
 */
const WAL_AUTOCHECKPOINT_PAGES = (256 * 1024 * 1024) / PAGE_SIZE;
/** Segments deleted per transaction when purging a write (~16 MiB, a few ms). */
const PURGE_BATCH = 256;
/** Below every safe integer, so `num > NO_NUM` selects all integer ids. */
const NO_NUM = Number.MIN_SAFE_INTEGER - 1;
const uploadGone = () => new AppError("conflict", "the upload no longer exists");
const hex = (b: Buffer) => b.toString("hex");

type ObjectRow = Rows.ObjectRow<number>;
type UserRow = Rows.UserRow<number>;
type TokenRow = Rows.TokenRow<number, string>;
type TokenUserRow = Rows.TokenUserRow<number, string>;
type JobRow = Rows.JobRow<number>;
const { toMeta, toUser, toToken, toTokenWithUser, toJob } = sqliteRows;

function prepareStatements(db: Db) {
  const p = db.prepare.bind(db);
  return {
    syncFull: p("PRAGMA synchronous = FULL"),
    syncNormal: p("PRAGMA synchronous = NORMAL"),
    ping: p("SELECT 1"),
    freelistCount: p("PRAGMA freelist_count").pluck(),

    getObject: p(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE owner = ? AND id = ?`),
    getObjectForRead: p(
      `SELECT ${OBJECT_COLUMNS_OF_O}, s.data AS segment FROM objects o
       LEFT JOIN segments s ON o.size <= @inlineMax AND o.size <= o.segment_size
                           AND s.write_id = o.write_id AND s.idx = 0
       WHERE o.owner = @owner AND o.id = @id`,
    ),
    currentObject: p("SELECT etag, write_id, created FROM objects WHERE owner = ? AND id = ?"),
    // INDEXED BY: the (owner, num, id) index gives both halves of the list order as range scans.
    listIntegers: p(
      `SELECT ${OBJECT_COLUMNS} FROM objects INDEXED BY objects_list
       WHERE owner = @owner AND num > @after AND id >= @lo AND id < @hi ORDER BY num LIMIT @limit`,
    ),
    listStrings: p(
      `SELECT ${OBJECT_COLUMNS} FROM objects INDEXED BY objects_list
       WHERE owner = @owner AND num IS NULL AND id > @after AND id >= @lo AND id < @hi ORDER BY id LIMIT @limit`,
    ),
    maxIntegerId: p(
      `SELECT num FROM objects INDEXED BY objects_list
       WHERE owner = ? AND num IS NOT NULL ORDER BY num DESC LIMIT 1`,
    ).pluck(),
    insertObject: p(
      `INSERT INTO objects (owner, id, num, kind, size, content_type, etag, created, modified, write_id,
         format_version, suite, segment_size, kek_version, wrapped_dek)
       VALUES (@owner, @id, @num, @kind, @size, @contentType, @etag, @created, @modified, @writeId,
         @formatVersion, @suite, @segmentSize, @kekVersion, @wrappedDek)`,
    ),
    // `created` is left alone: it stays the first version's.
    replaceObject: p(
      `UPDATE objects SET kind = @kind, size = @size, content_type = @contentType, etag = @etag,
         modified = @modified, write_id = @writeId, format_version = @formatVersion, suite = @suite,
         segment_size = @segmentSize, kek_version = @kekVersion, wrapped_dek = @wrappedDek
       WHERE owner = @owner AND id = @id`,
    ),
    deleteObject: p("DELETE FROM objects WHERE owner = ? AND id = ?"),

    insertUpload: p("INSERT INTO uploads (write_id, owner, id, started) VALUES (?, ?, ?, ?)"),
    uploadExists: p("SELECT 1 FROM uploads WHERE write_id = ?").pluck(),
    deleteUpload: p("DELETE FROM uploads WHERE write_id = ?"),
    allUploads: p("SELECT write_id FROM uploads").pluck(),
    insertSegment: p("INSERT INTO segments (write_id, idx, data) VALUES (?, ?, ?)"),
    readSegments: p(
      "SELECT data FROM segments WHERE write_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
    ).pluck(),
    purgeSegments: p(
      "DELETE FROM segments WHERE rowid IN (SELECT rowid FROM segments WHERE write_id = ? LIMIT ?)",
    ),
    trash: p("INSERT OR IGNORE INTO trash (write_id, trashed_at) VALUES (?, ?)"),
    trashed: p("SELECT write_id FROM trash ORDER BY trashed_at").pluck(),
    untrash: p("DELETE FROM trash WHERE write_id = ?"),

    keyInfo: p(
      `SELECT id, write_id, kek_version, wrapped_dek FROM objects
       WHERE owner = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    updateWrappedDek: p(
      `UPDATE objects SET kek_version = ?, wrapped_dek = ?
       WHERE owner = ? AND id = ? AND write_id = ?`,
    ),
    countByKek: p("SELECT kek_version AS v, count(*) AS n FROM objects WHERE owner = ? GROUP BY kek_version"),

    countUsers: p("SELECT count(*) FROM users").pluck(),
    insertUser: p("INSERT INTO users (uid, name, role, created) VALUES (?, ?, ?, ?)"),
    userByName: p("SELECT uid, name, role, created FROM users WHERE name = ?"),
    userByUid: p("SELECT uid, name, role, created FROM users WHERE uid = ?"),
    listUsers: p("SELECT uid, name, role, created FROM users ORDER BY name"),
    userExists: p("SELECT 1 FROM users WHERE uid = ?").pluck(),
    userWrites: p(
      "SELECT write_id FROM objects WHERE owner = ? UNION ALL SELECT write_id FROM uploads WHERE owner = ?",
    ).pluck(),
    deleteUserObjects: p("DELETE FROM objects WHERE owner = ?"),
    deleteUserUploads: p("DELETE FROM uploads WHERE owner = ?"),
    deleteUserTokens: p("DELETE FROM tokens WHERE uid = ?"),
    deleteUser: p("DELETE FROM users WHERE uid = ?"),

    insertToken: p(
      `INSERT INTO tokens (id, uid, label, scopes, secret_hash, created, last_used, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getToken: p("SELECT * FROM tokens WHERE id = ?"),
    tokenWithUser: p(
      `SELECT t.*, u.name AS user_name, u.role AS user_role, u.created AS user_created
       FROM tokens t JOIN users u ON u.uid = t.uid WHERE t.id = ?`,
    ),
    listTokens: p("SELECT * FROM tokens WHERE uid = ? ORDER BY created, id"),
    deleteToken: p("DELETE FROM tokens WHERE uid = ? AND id = ?"),
    touchToken: p("UPDATE tokens SET last_used = ? WHERE id = ?"),

    insertJob: p(
      `INSERT INTO jobs (id, kind, owner, target, state, done, total, error, cursor, result, created, updated)
       VALUES (@id, @kind, @owner, @target, @state, @done, @total, @error, @cursor, @result, @created, @updated)`,
    ),
    getJob: p("SELECT * FROM jobs WHERE id = ?"),
    // One statement for every patch shape: a flag per field says whether to set it.
    updateJob: p(
      `UPDATE jobs SET
         state = CASE WHEN @hasState THEN @state ELSE state END,
         done = CASE WHEN @hasDone THEN @done ELSE done END,
         total = CASE WHEN @hasTotal THEN @total ELSE total END,
         error = CASE WHEN @hasError THEN @error ELSE error END,
         cursor = CASE WHEN @hasCursor THEN @cursor ELSE cursor END,
         result = CASE WHEN @hasResult THEN @result ELSE result END,
         updated = @now
       WHERE id = @id`,
    ),
    claimJob: p(
      `UPDATE jobs SET lease_owner = @worker, lease_until = @until
       WHERE id = (SELECT id FROM jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= @now)
                   ORDER BY created LIMIT 1)
       RETURNING *`,
    ),
    renewLease: p("UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'"),
    freeLeases: p("UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL"),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The in-process exclusion of SQLite cannot be lost while the process runs. */
const ALWAYS_HELD: HeldLock = { confirm: async () => undefined };

interface QueuedCommit {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class SqliteObjectStore implements ObjectStore {
  readonly #db: Db;
  readonly #s: Statements;
  /** Uploads begun by this instance and still open; the sweep spares them. */
  readonly #live = new Set<string>();
  #fullSync = true;
  #closing = false;
  /** Durable writes that arrived in the same turn of the event loop, committed with one fsync. */
  #queue: QueuedCommit[] = [];
  /** exclusively()'s callers, one at a time per name. */
  readonly #exclusive = new KeyedQueue();
  readonly #checkpointer: BackgroundCheckpointer;

  /** Given up when a delete or a metadata change finds the disk full (emergency-space.ts). */
  readonly #emergency: EmergencySpace | null;
  readonly #file: string;

  static open(
    file: string,
    checkpointEvents: CheckpointEvents = NO_CHECKPOINT_EVENTS,
    opts: { cacheKib?: number; emergency?: EmergencySpace } = {},
  ): SqliteObjectStore {
    const db = openDatabase(file, OBJECTS_SCHEMA, {
      pageSize: PAGE_SIZE,
      walAutocheckpointPages: WAL_AUTOCHECKPOINT_PAGES,
      cacheKib: opts.cacheKib,
    });
    return new SqliteObjectStore(
      db,
      file,
      new BackgroundCheckpointer(file, checkpointEvents),
      opts.emergency ?? null,
    );
  }

  private constructor(
    db: Db,
    file: string,
    checkpointer: BackgroundCheckpointer,
    emergency: EmergencySpace | null,
  ) {
    this.#db = db;
    this.#file = file;
    this.#s = prepareStatements(db);
    this.#checkpointer = checkpointer;
    this.#emergency = emergency;
    // One process owns the file: a lease still held was held by a process that died.
    this.#relaxed(() => this.#s.freeLeases.run());
  }

  /**
   * Where writes go before the files grow: free pages inside objects.db, and the WAL already on
   * disk (rewritten from its start once checkpointed); for the reserve's arithmetic.
   */
  spaceUse(): { reusable: number; journal: number } {
    return this.#guard(() => {
      const pages = this.#s.freelistCount.get() as number;
      let journal = 0;
      try {
        journal = statSync(`${this.#file}-wal`).size;
      } catch {
        // No WAL file (yet): nothing to reuse.
      }
      return { reusable: pages * PAGE_SIZE, journal };
    });
  }

  /** Whether the background checkpoint fails (the WAL then grows with every write). */
  get checkpointFailing(): boolean {
    return this.#checkpointer.failing;
  }

  /** The page cache this connection was given, in KiB, as SQLite reports it. */
  get pageCacheKib(): number {
    return -(this.#db.pragma("cache_size", { simple: true }) as number);
  }

  // --- plumbing ------------------------------------------------------------------------------------

  /** Runs `fn`, turning database failures into StorageUnavailableError. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storageFault(err) ?? err;
    }
  }

  /**
   * Writes that a 2xx depends on: the WAL is fsynced at commit, which also hardens earlier frames.
   * When the disk is full they may use the emergency space: deletes, tokens, keys, small items (an
   * upload's commit is small too; its segments are already stored).
   */
  #durable<T>(fn: () => T): T {
    return this.#guard(() =>
      withEmergencyRoom(this.#emergency, () => {
        if (!this.#fullSync) {
          this.#s.syncFull.run();
          this.#fullSync = true;
        }
        return this.#db.transaction(fn).immediate();
      }),
    );
  }

  /**
   * Group commit: durable writes queued during one turn of the event loop share one transaction
   * and one fsync; each runs in its own savepoint, so one failing (a precondition) fails alone.
   */
  #durableGrouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    let outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.#durable(() => {
        outcomes = [];
        for (const item of batch) {
          try {
            // A nested better-sqlite3 transaction is a savepoint: a throw undoes only this item.
            outcomes.push({ ok: true, value: this.#db.transaction(item.fn)() });
          } catch (err) {
            // A full disk fails the whole group, which then runs again in the emergency space.
            if (isDiskFull(err)) throw err;
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(storageFault(o.value) ?? o.value);
    });
  }

  /**
   * Writes that may be lost on power failure without harm (segments before commit, bookkeeping).
   * Never in the emergency space: that is for what a client asked for (a purge only moves pages to
   * the free list, which gives the volume nothing back while the disk is full).
   */
  #relaxed<T>(fn: () => T): T {
    return this.#guard(() => {
      if (this.#fullSync) {
        this.#s.syncNormal.run();
        this.#fullSync = false;
      }
      return this.#db.transaction(fn).immediate();
    });
  }

  /** Deletes a write's segments a batch at a time; false if stopped early (close, or no longer wanted). */
  async #purge(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    for (;;) {
      if (this.#closing || !stillWanted()) return false;
      const { changes } = this.#relaxed(() => this.#s.purgeSegments.run(writeId, PURGE_BATCH));
      if (changes < PURGE_BATCH) return true;
      await nextTick();
    }
  }

  // --- objects -------------------------------------------------------------------------------------

  async getObject(owner: string, id: string): Promise<ObjectMeta | null> {
    const row = this.#guard(() => this.#s.getObject.get(owner, id)) as ObjectRow | undefined;
    return row ? toMeta(row) : null;
  }

  async getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null> {
    const row = this.#guard(() => this.#s.getObjectForRead.get({ owner, id, inlineMax })) as
      | (ObjectRow & { segment: Buffer | null })
      | undefined;
    return row ? { meta: toMeta(row), segment: row.segment } : null;
  }

  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    // One process owns the file (see open): a queue per name in this process is enough, and it
    // cannot be lost while the process runs.
    return this.#exclusive.run(name, () => fn(ALWAYS_HELD));
  }

  async listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const prefix = opts.prefix ?? "";
    const range = { lo: prefix, hi: prefix + ID_HIGH };
    const afterNum = opts.after === undefined ? NO_NUM : integerIdValue(opts.after);
    return this.#guard(() =>
      this.#db.transaction(() => {
        let rows: ObjectRow[] = [];
        // An `after` that is a string lies past every integer id.
        if (afterNum !== null && prefixAdmitsIntegers(prefix)) {
          rows = this.#s.listIntegers.all({ owner, after: afterNum, limit, ...range }) as ObjectRow[];
        }
        if (rows.length < limit) {
          const after = afterNum === null ? (opts.after as string) : "";
          const more = this.#s.listStrings.all({ owner, after, limit: limit - rows.length, ...range });
          rows = rows.concat(more as ObjectRow[]);
        }
        return rows.map(toMeta);
      })(),
    );
  }

  async maxIntegerId(owner: string): Promise<number | null> {
    const n = this.#guard(() => this.#s.maxIntegerId.get(owner)) as number | undefined;
    return n ?? null;
  }

  async beginUpload(owner: string, id: string, writeId: Buffer): Promise<void> {
    try {
      // Relaxed is enough: the WAL keeps commit order, so segments never outlive this row on a crash.
      this.#relaxed(() => this.#s.insertUpload.run(writeId, owner, id, Date.now()));
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
    this.#live.add(hex(writeId));
  }

  async appendSegments(writeId: Buffer, first: number, segments: Buffer[]): Promise<void> {
    this.#relaxed(() => {
      // Segments of an aborted upload would have nothing left to reclaim them.
      if (this.#s.uploadExists.get(writeId) === undefined) throw uploadGone();
      for (const [i, seg] of segments.entries()) this.#s.insertSegment.run(writeId, first + i, seg);
    });
  }

  async commitObject(
    meta: ObjectMeta,
    cond: WriteCondition,
    inlineSegments?: Buffer[],
  ): Promise<CommitResult> {
    const s = this.#s;
    const params = {
      owner: meta.owner,
      id: meta.id,
      num: integerIdValue(meta.id),
      kind: meta.kind,
      size: meta.size,
      contentType: meta.contentType,
      etag: meta.etag,
      created: meta.created.getTime(),
      modified: meta.modified.getTime(),
      writeId: meta.writeId,
      formatVersion: meta.formatVersion,
      suite: meta.suite,
      segmentSize: meta.segmentSize,
      kekVersion: meta.kekVersion,
      wrappedDek: meta.wrappedDek,
    };
    let result: CommitResult;
    try {
      result = await this.#durableGrouped(() => {
        const cur = s.currentObject.get(meta.owner, meta.id) as
          | { etag: string; write_id: Buffer; created: number }
          | undefined;
        checkWriteCondition(cur, cond);
        if (inlineSegments === undefined && s.uploadExists.get(meta.writeId) === undefined)
          throw uploadGone();
        if (cur) {
          s.replaceObject.run(params);
          // Readers may still be streaming the old write: the reclaimer deletes it once they are done.
          if (!cur.write_id.equals(meta.writeId)) s.trash.run(cur.write_id, Date.now());
        } else {
          s.insertObject.run(params);
        }
        for (const [i, seg] of (inlineSegments ?? []).entries()) s.insertSegment.run(meta.writeId, i, seg);
        s.deleteUpload.run(meta.writeId);
        return { created: !cur, createdAt: new Date(cur ? cur.created : params.created) };
      });
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
    this.#live.delete(hex(meta.writeId));
    return result;
  }

  async abortUpload(writeId: Buffer): Promise<void> {
    this.#live.delete(hex(writeId));
    // The row goes last, so that a crash mid-way leaves it for the sweep.
    if (await this.#purge(writeId)) this.#relaxed(() => this.#s.deleteUpload.run(writeId));
  }

  async sweepAbandonedUploads(): Promise<number> {
    // One process owns the file: every upload not begun by this instance died with a previous one.
    const abandoned = (this.#guard(() => this.#s.allUploads.all()) as Buffer[]).filter(
      (w) => !this.#live.has(hex(w)),
    );
    let n = 0;
    for (const w of abandoned) {
      if (!(await this.#purge(w))) break;
      this.#relaxed(() => this.#s.deleteUpload.run(w));
      n++;
    }
    return n;
  }

  async deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean> {
    return this.#durableGrouped(() => {
      const cur = this.#s.currentObject.get(owner, id) as { etag: string; write_id: Buffer } | undefined;
      if (cond) checkWriteCondition(cur, cond);
      if (!cur) return false;
      this.#s.deleteObject.run(owner, id);
      this.#s.trash.run(cur.write_id, Date.now());
      return true;
    });
  }

  async readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    return this.#guard(() => this.#s.readSegments.all(writeId, first, first + count)) as Buffer[];
  }

  async reclaim(busy: ReadonlySet<string>): Promise<number> {
    const trashed = this.#guard(() => this.#s.trashed.all()) as Buffer[];
    let n = 0;
    for (const w of trashed) {
      const key = hex(w);
      // `busy` is consulted before every batch: a reader may start on a write while we purge others.
      if (busy.has(key)) continue;
      if (!(await this.#purge(w, () => !busy.has(key)))) continue;
      this.#relaxed(() => this.#s.untrash.run(w));
      n++;
    }
    return n;
  }

  // --- key bookkeeping -----------------------------------------------------------------------------

  async objectKeyInfo(owner: string, afterId: string | null, limit: number): Promise<ObjectKeyInfo[]> {
    if (limit <= 0) return [];
    const rows = this.#guard(() => this.#s.keyInfo.all(owner, afterId ?? "", limit)) as {
      id: string;
      write_id: Buffer;
      kek_version: number;
      wrapped_dek: Buffer;
    }[];
    return rows.map((r) => ({
      id: r.id,
      writeId: r.write_id,
      kekVersion: r.kek_version,
      wrappedDek: r.wrapped_dek,
    }));
  }

  async updateWrappedDek(
    owner: string,
    id: string,
    writeId: Buffer,
    kekVersion: number,
    wrappedDek: Buffer,
  ): Promise<boolean> {
    // Durable: a raised minimum decryption version relies on these rows having moved.
    const { changes } = this.#durable(() =>
      this.#s.updateWrappedDek.run(kekVersion, wrappedDek, owner, id, writeId),
    );
    return changes > 0;
  }

  async updateWrappedDeks(owner: string, items: DekRewrap[]): Promise<number> {
    if (items.length === 0) return 0;
    const s = this.#s;
    // One fsync for the whole batch: a raised minimum decryption version relies on these rows.
    return this.#durable(() => {
      let n = 0;
      for (const it of items)
        n += s.updateWrappedDek.run(it.kekVersion, it.wrappedDek, owner, it.id, it.writeId).changes;
      return n;
    });
  }

  async countByKekVersion(owner: string): Promise<Map<number, number>> {
    const rows = this.#guard(() => this.#s.countByKek.all(owner)) as { v: number; n: number }[];
    return new Map(rows.map((r) => [r.v, r.n]));
  }

  // --- users and tokens ----------------------------------------------------------------------------

  async countUsers(): Promise<number> {
    return this.#guard(() => this.#s.countUsers.get()) as number;
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      this.#durable(() => this.#s.insertUser.run(user.uid, user.name, user.role, user.created.getTime()));
    } catch (err) {
      if (isConstraint(err, "UNIQUE"))
        throw new AppError("user_exists", "a user with this name already exists");
      if (isConstraint(err, "PRIMARYKEY"))
        throw new AppError("conflict", "a user with this uid already exists");
      throw err;
    }
  }

  async getUserByName(name: string): Promise<UserRecord | null> {
    const row = this.#guard(() => this.#s.userByName.get(name)) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async getUserByUid(uid: string): Promise<UserRecord | null> {
    const row = this.#guard(() => this.#s.userByUid.get(uid)) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.#guard(() => this.#s.listUsers.all()) as UserRow[]).map(toUser);
  }

  async deleteUser(uid: string): Promise<boolean> {
    const s = this.#s;
    // The rows go in one durable transaction; their writes are queued in trash first so that a crash
    // during the purge below still ends with the segments reclaimed.
    const writes = this.#durable(() => {
      if (s.userExists.get(uid) === undefined) return null;
      const ws = s.userWrites.all(uid, uid) as Buffer[];
      const now = Date.now();
      for (const w of ws) s.trash.run(w, now);
      s.deleteUserObjects.run(uid);
      s.deleteUserUploads.run(uid);
      s.deleteUserTokens.run(uid);
      s.deleteUser.run(uid);
      return ws;
    });
    if (writes === null) return false;
    // The user's keys are being destroyed, so no reader needs these segments: purge at once.
    for (const w of writes) {
      this.#live.delete(hex(w));
      if (!(await this.#purge(w))) break;
      this.#relaxed(() => s.untrash.run(w));
    }
    return true;
  }

  async createToken(token: TokenRecord): Promise<void> {
    try {
      this.#durable(() =>
        this.#s.insertToken.run(
          token.id,
          token.uid,
          token.label,
          token.scopes.join(","),
          token.secretHash,
          token.created.getTime(),
          token.lastUsed?.getTime() ?? null,
          token.expiresAt?.getTime() ?? null,
        ),
      );
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the user does not exist");
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE"))
        throw new AppError("conflict", "token id already exists");
      throw err;
    }
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const row = this.#guard(() => this.#s.getToken.get(id)) as TokenRow | undefined;
    return row ? toToken(row) : null;
  }

  async getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null> {
    const row = this.#guard(() => this.#s.tokenWithUser.get(id)) as TokenUserRow | undefined;
    return row ? toTokenWithUser(row) : null;
  }

  async listTokens(uid: string): Promise<TokenRecord[]> {
    return (this.#guard(() => this.#s.listTokens.all(uid)) as TokenRow[]).map(toToken);
  }

  async deleteToken(uid: string, id: string): Promise<boolean> {
    return this.#durable(() => this.#s.deleteToken.run(uid, id)).changes > 0;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    // Every request touches its token: an fsync each would cap the request rate; losing one is harmless.
    this.#relaxed(() => this.#s.touchToken.run(at.getTime(), id));
  }

  // --- jobs ----------------------------------------------------------------------------------------

  async createJob(job: JobRecord): Promise<void> {
    try {
      this.#durable(() =>
        this.#s.insertJob.run({
          ...job,
          created: job.created.getTime(),
          updated: job.updated.getTime(),
        }),
      );
    } catch (err) {
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE")) throw new AppError("conflict", "job id already exists");
      throw err;
    }
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const row = this.#guard(() => this.#s.getJob.get(id)) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const has = (k: keyof typeof patch) => (patch[k] !== undefined ? 1 : 0);
    const { changes } = this.#durable(() =>
      this.#s.updateJob.run({
        id,
        now: Date.now(),
        hasState: has("state"),
        state: patch.state ?? null,
        hasDone: has("done"),
        done: patch.done ?? null,
        hasTotal: has("total"),
        total: patch.total ?? null,
        hasError: has("error"),
        error: patch.error ?? null,
        hasCursor: has("cursor"),
        cursor: patch.cursor ?? null,
        hasResult: has("result"),
        result: patch.result ?? null,
      }),
    );
    if (changes === 0) throw new AppError("not_found", "no such job");
  }

  async claimJob(worker: string, leaseMs: number): Promise<JobRecord | null> {
    const now = Date.now();
    // Relaxed: a lease lost in a power failure simply expires again after restart.
    const row = this.#relaxed(() => this.#s.claimJob.get({ worker, now, until: now + leaseMs })) as
      | JobRow
      | undefined;
    return row ? toJob(row) : null;
  }

  async renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean> {
    return this.#relaxed(() => this.#s.renewLease.run(Date.now() + leaseMs, id, worker)).changes > 0;
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  async ping(): Promise<void> {
    this.#guard(() => this.#s.ping.get());
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#queue.length > 0) this.#flush();
    try {
      this.#guard(() => {
        this.#db.pragma("optimize");
        this.#db.close();
      });
    } finally {
      await this.#checkpointer.stop();
    }
  }
}
