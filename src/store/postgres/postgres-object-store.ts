// The ObjectStore on PostgreSQL, shared by any number of server processes. Metadata and ciphertext
// segments (BYTEA rows) live in one schema so that one transaction covers both.
//
// What differs from SQLite, because other processes share the database:
// - A replaced or deleted write may still be streamed by a reader in another process, whose busy set
//   we cannot see. So a trashed write is kept for a grace period, and every process pins the trashed
//   writes its own readers still stream (a heartbeat renews the pins), so long downloads are safe too.
// - Another process may be mid-upload: an upload is abandoned only when its heartbeat (renewed by its
//   writer's appends and by a timer) is older than a staleness threshold.
// - Two processes may race to create one id: the loser sees the winner's row and its condition is
//   checked against it (precondition_failed), never a unique-violation 500.
// All times that decide between processes (heartbeats, grace, leases) are the database's clock.
import { randomBytes } from "node:crypto";
import { AppError } from "../../errors.js";
import { ID_HIGH, integerIdValue, prefixAdmitsIntegers } from "../id-order.js";
import type * as Rows from "../rows.js";
import { OBJECT_COLUMNS, OBJECT_COLUMNS_OF_O, postgresRows } from "../rows.js";
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
import { byteaLiteral } from "./binary-copy.js";
import { migrate, OBJECTS_SCHEMA } from "./migrations.js";
import { PgDatabase, type Queryable } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

export const DEFAULT_OBJECTS_SCHEMA = "sse_objects";

export interface PostgresObjectStoreOptions {
  /** Schema of the tables (default sse_objects). */
  schema?: string;
  /** Most connections of this process (default 10). */
  poolSize?: number;
  /**
   * How long a replaced or deleted write stays readable before any process may reclaim it (default
   * 5 min): time for readers in other processes to pin it. 0 gives single-process semantics.
   */
  trashGraceMs?: number;
  /** How often this process renews its uploads' heartbeats and its readers' pins (default 10 s). */
  heartbeatMs?: number;
  /** An upload whose heartbeat is older than this is abandoned (default 2 min). */
  uploadStaleMs?: number;
  /** Background failures (heartbeat, idle connections), for the log. */
  onError?: (err: unknown, what: string) => void;
  /** The same background work succeeding again after a failure (the heartbeat). */
  onRecovered?: (what: string) => void;
}

/** Segments deleted per statement when purging a write (~16 MiB). */
const PURGE_BATCH = 256;
/** Most segments created inline in one statement (with their object row). */
const INLINE_CREATE_MAX = 64;
/** Trashed writes looked at per reclaim pass. */
const RECLAIM_PAGE = 1000;

const uploadGone = () => new AppError("conflict", "the upload no longer exists");
const hex = (b: Buffer) => b.toString("hex");
const ms = (n: number) => `${Math.trunc(n)} milliseconds`;

type ObjectRow = Rows.ObjectRow<Date>;
type UserRow = Rows.UserRow<Date>;
type TokenRow = Rows.TokenRow<Date, string[]>;
type TokenUserRow = Rows.TokenUserRow<Date, string[]>;
type JobRow = Rows.JobRow<Date>;
const { toMeta, toUser, toToken, toTokenWithUser, toJob } = postgresRows;

const JOB_COLUMNS = "id, kind, owner, target, state, done, total, error, cursor, result, created, updated";
const TOKEN_COLUMNS = "id, uid, label, scopes, secret_hash, created, last_used, expires_at";

/** Inserts segments `first, first+1, …` of a write, as raw bytes (binary COPY, see binary-copy.ts). */
async function insertSegments(
  q: Queryable,
  writeId: Buffer,
  first: number,
  segments: Buffer[],
): Promise<void> {
  if (segments.length === 0) return;
  const rows = segments.map((seg, i) => {
    const idx = Buffer.allocUnsafe(4);
    idx.writeInt32BE(first + i);
    return [writeId, idx, seg];
  });
  await q.copyIn("COPY segments (write_id, idx, data) FROM STDIN (FORMAT binary)", rows);
}

export class PostgresObjectStore implements ObjectStore {
  readonly #db: PgDatabase;
  readonly #graceMs: number;
  readonly #staleMs: number;
  readonly #pinMs: number;
  /** This process's name in read_pins. */
  readonly #reader = randomBytes(8).toString("hex");
  readonly #onError: (err: unknown, what: string) => void;
  /** Uploads begun by this process and still open: their heartbeat is renewed, the sweep spares them. */
  readonly #live = new Map<string, Buffer>();
  /** The object service's live set of writes being read here (handed over by `reclaim`). */
  #reading: ReadonlySet<string> = new Set();
  readonly #heartbeat: NodeJS.Timeout;
  #closing = false;

  /** Connects and migrates; several processes may do this at once. */
  static async open(url: string, opts: PostgresObjectStoreOptions = {}): Promise<PostgresObjectStore> {
    const db = new PgDatabase({
      url,
      schema: opts.schema ?? DEFAULT_OBJECTS_SCHEMA,
      max: opts.poolSize ?? 10,
      onIdleError: (err) => opts.onError?.(err, "idle database connection"),
    });
    try {
      await migrate(db, OBJECTS_SCHEMA);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return new PostgresObjectStore(db, opts);
  }

  private constructor(db: PgDatabase, opts: PostgresObjectStoreOptions) {
    this.#db = db;
    const every = opts.heartbeatMs ?? 10_000;
    this.#graceMs = opts.trashGraceMs ?? 5 * 60_000;
    this.#staleMs = opts.uploadStaleMs ?? 2 * 60_000;
    // Three beats: one late heartbeat does not drop a pin.
    this.#pinMs = 3 * every;
    // A pin must land before the grace period ends, and a live upload must beat before it looks stale.
    if (this.#staleMs < 3 * every || (this.#graceMs > 0 && this.#graceMs < 2 * every))
      throw new Error(
        "the heartbeat must run at least twice within the grace period and thrice within the staleness threshold",
      );
    this.#onError = opts.onError ?? (() => undefined);
    const recovered = opts.onRecovered ?? (() => undefined);
    // A fixed beat, failing or not: the other processes judge this one's uploads by it.
    this.#heartbeat = setInterval(() => {
      this.#beat().then(
        () => recovered("heartbeat"),
        (err) => this.#onError(err, "heartbeat"),
      );
    }, every);
    this.#heartbeat.unref();
  }

  // --- background: heartbeats and pins ---------------------------------------------------------------

  async #beat(): Promise<void> {
    if (this.#closing) return;
    if (this.#live.size > 0) {
      await this.#db.query("UPDATE uploads SET heartbeat = now() WHERE write_id = ANY($1::bytea[])", [
        [...this.#live.values()],
      ]);
    }
    await this.#pin(this.#reading);
  }

  /** Tells other processes which trashed writes this one still streams, so that they leave them. */
  async #pin(reading: ReadonlySet<string>): Promise<void> {
    if (reading.size === 0) return;
    const ids = [...reading].map((k) => Buffer.from(k, "hex"));
    await this.#db.query(
      `INSERT INTO read_pins (write_id, reader, pinned_until)
         SELECT write_id, $2, now() + $3::interval FROM trash WHERE write_id = ANY($1::bytea[])
       ON CONFLICT (write_id, reader) DO UPDATE SET pinned_until = EXCLUDED.pinned_until`,
      [ids, this.#reader, ms(this.#pinMs)],
    );
  }

  /** Deletes a write's segments a batch at a time; false if stopped early (close, or no longer wanted). */
  async #purge(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    for (;;) {
      if (this.#closing || !stillWanted()) return false;
      const rows = await this.#db.query(
        `DELETE FROM segments WHERE write_id = $1 AND idx IN
           (SELECT idx FROM segments WHERE write_id = $1 ORDER BY idx LIMIT $2)
         RETURNING 1`,
        [writeId, PURGE_BATCH],
      );
      if (rows.length < PURGE_BATCH) return true;
    }
  }

  async #untrash(writeId: Buffer): Promise<void> {
    await this.#db.tx("relaxed", async (q) => {
      await q.query("DELETE FROM read_pins WHERE write_id = $1", [writeId]);
      await q.query("DELETE FROM trash WHERE write_id = $1", [writeId]);
    });
  }

  /** Purges writes already moved to the trash for immediate deletion, then drops their trash rows. */
  async #purgeNow(writes: Buffer[]): Promise<number> {
    let n = 0;
    for (const w of writes) {
      if (!(await this.#purge(w))) break;
      await this.#untrash(w);
      n++;
    }
    return n;
  }

  // --- objects -------------------------------------------------------------------------------------

  async getObject(owner: string, id: string): Promise<ObjectMeta | null> {
    const [row] = await this.#db.query<ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE owner = $1 AND id = $2`,
      [owner, id],
    );
    return row ? toMeta(row) : null;
  }

  async getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null> {
    const [row] = await this.#db.query<ObjectRow & { segment: Buffer | null }>(
      `SELECT ${OBJECT_COLUMNS_OF_O}, s.data AS segment FROM objects o
       LEFT JOIN segments s ON o.size <= $3 AND o.size <= o.segment_size
                           AND s.write_id = o.write_id AND s.idx = 0
       WHERE o.owner = $1 AND o.id = $2`,
      [owner, id, inlineMax],
    );
    return row ? { meta: toMeta(row), segment: row.segment } : null;
  }

  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    return this.#db.withAdvisoryLock(name, fn);
  }

  async listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const prefix = opts.prefix ?? "";
    const afterNum = opts.after === undefined ? null : integerIdValue(opts.after);
    // An `after` that is not an integer id lies past every integer id.
    const withIntegers = (opts.after === undefined || afterNum !== null) && prefixAdmitsIntegers(prefix);
    const afterString = opts.after === undefined || afterNum !== null ? "" : opts.after;
    const strings = `(SELECT 1 AS part, num, ${OBJECT_COLUMNS} FROM objects
       WHERE owner = $1 AND num IS NULL AND id > $2 AND id >= $3 AND id < $4 ORDER BY id LIMIT $5)`;
    const integers = `(SELECT 0 AS part, num, ${OBJECT_COLUMNS} FROM objects
       WHERE owner = $1 AND num IS NOT NULL AND num > $6 AND id >= $3 AND id < $4 ORDER BY num LIMIT $5)`;
    const values: unknown[] = [owner, afterString, prefix, prefix + ID_HIGH, limit];
    let text = strings;
    if (withIntegers) {
      values.push(afterNum ?? Number.MIN_SAFE_INTEGER - 1);
      // One statement, one snapshot: both halves of the list are consistent with each other.
      text = `${integers} UNION ALL ${strings} ORDER BY part, num, id LIMIT $5`;
    }
    const rows = await this.#db.query<ObjectRow>(text, values);
    return rows.map(toMeta);
  }

  async maxIntegerId(owner: string): Promise<number | null> {
    const [row] = await this.#db.query<{ n: number | null }>(
      "SELECT max(num) AS n FROM objects WHERE owner = $1 AND num IS NOT NULL",
      [owner],
    );
    return row?.n ?? null;
  }

  async beginUpload(owner: string, id: string, writeId: Buffer): Promise<void> {
    try {
      await this.#db.query("INSERT INTO uploads (write_id, owner, id) VALUES ($1, $2, $3)", [
        writeId,
        owner,
        id,
      ]);
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
    this.#live.set(hex(writeId), writeId);
  }

  async appendSegments(writeId: Buffer, first: number, segments: Buffer[]): Promise<void> {
    // Relaxed: segments matter only once commitObject's durable commit, which flushes them too.
    await this.#db.tx("relaxed", async (q) => {
      // Locks the upload against a concurrent abort or sweep, and renews its heartbeat.
      const found = await q.query("UPDATE uploads SET heartbeat = now() WHERE write_id = $1 RETURNING 1", [
        writeId,
      ]);
      if (found.length === 0) throw uploadGone();
      await insertSegments(q, writeId, first, segments);
    });
  }

  async commitObject(
    meta: ObjectMeta,
    cond: WriteCondition,
    inlineSegments?: Buffer[],
  ): Promise<CommitResult> {
    const row = [
      meta.owner,
      meta.id,
      integerIdValue(meta.id),
      meta.kind,
      meta.size,
      meta.contentType,
      meta.etag,
      meta.created,
      meta.modified,
      meta.writeId,
      meta.formatVersion,
      meta.suite,
      meta.segmentSize,
      meta.kekVersion,
      meta.wrappedDek,
    ];
    let result: CommitResult;
    try {
      const created = await this.#tryCreateInline(row, cond, inlineSegments);
      if (created) return created;
      result = await this.#db.tx("durable", async (q) => {
        if (inlineSegments === undefined) {
          const up = await q.query("SELECT 1 FROM uploads WHERE write_id = $1 FOR UPDATE", [meta.writeId]);
          if (up.length === 0) throw uploadGone();
        }
        // Two rounds at most: an INSERT that finds a row created meanwhile re-reads and re-checks it.
        for (let round = 0; ; round++) {
          const [cur] = await q.query<{ etag: string; write_id: Buffer; created: Date }>(
            "SELECT etag, write_id, created FROM objects WHERE owner = $1 AND id = $2 FOR UPDATE",
            [meta.owner, meta.id],
          );
          checkWriteCondition(cur, cond);
          if (cur) {
            // `created` stays the first version's.
            await q.query(
              `UPDATE objects SET kind = $3, size = $4, content_type = $5, etag = $6, modified = $7,
                 write_id = $8, format_version = $9, suite = $10, segment_size = $11, kek_version = $12,
                 wrapped_dek = $13
               WHERE owner = $1 AND id = $2`,
              [
                meta.owner,
                meta.id,
                meta.kind,
                meta.size,
                meta.contentType,
                meta.etag,
                meta.modified,
                meta.writeId,
                meta.formatVersion,
                meta.suite,
                meta.segmentSize,
                meta.kekVersion,
                meta.wrappedDek,
              ],
            );
            // Readers may still be streaming the old write: the reclaimer deletes it once they are done.
            if (!cur.write_id.equals(meta.writeId)) {
              await q.query(
                "INSERT INTO trash (write_id, trashed_at) VALUES ($1, now()) ON CONFLICT (write_id) DO NOTHING",
                [cur.write_id],
              );
            }
          } else {
            const inserted = await q.query(
              `INSERT INTO objects (owner, id, num, kind, size, content_type, etag, created, modified, write_id,
                 format_version, suite, segment_size, kek_version, wrapped_dek)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (owner, id) DO NOTHING RETURNING 1`,
              row,
            );
            // Another process created the object since our SELECT: look again, under its lock.
            if (inserted.length === 0) {
              if (round > 0)
                throw new AppError("conflict", "the object is being written concurrently; retry");
              continue;
            }
          }
          if (inlineSegments !== undefined) await insertSegments(q, meta.writeId, 0, inlineSegments);
          else await q.query("DELETE FROM uploads WHERE write_id = $1", [meta.writeId]);
          return { created: !cur, createdAt: cur ? cur.created : meta.created };
        }
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
    this.#live.delete(hex(meta.writeId));
    return result;
  }

  /**
   * The common case of a small object or an item that does not exist yet, in one statement (one
   * round trip, durable at its commit): insert the row and its segments unless the id is taken.
   * Null when the general path must decide (the object exists and may be replaced).
   */
  async #tryCreateInline(
    row: unknown[],
    cond: WriteCondition,
    inlineSegments: Buffer[] | undefined,
  ): Promise<CommitResult | null> {
    if (
      inlineSegments === undefined ||
      cond.ifMatch !== undefined ||
      inlineSegments.length > INLINE_CREATE_MAX
    )
      return null;
    const values = [...row];
    const segs = inlineSegments.map((seg, i) => {
      values.push(seg);
      return `(${i}, $${values.length}::bytea)`;
    });
    const withSegments =
      segs.length === 0
        ? ""
        : `, seg AS (INSERT INTO segments (write_id, idx, data)
             SELECT ins.write_id, v.idx, v.data FROM ins CROSS JOIN (VALUES ${segs.join(", ")}) AS v(idx, data))`;
    // ON CONFLICT waits for a concurrent creator to commit: "not inserted" means the object exists.
    const [res] = await this.#db.query<{ n: number }>(
      `WITH ins AS (
         INSERT INTO objects (owner, id, num, kind, size, content_type, etag, created, modified, write_id,
           format_version, suite, segment_size, kek_version, wrapped_dek)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (owner, id) DO NOTHING RETURNING write_id)${withSegments}
       SELECT count(*)::integer AS n FROM ins`,
      values,
    );
    if (res?.n === 1) return { created: true, createdAt: row[7] as Date };
    if (cond.ifNoneMatch) throw new AppError("precondition_failed", "the object already exists");
    return null;
  }

  async abortUpload(writeId: Buffer): Promise<void> {
    this.#live.delete(hex(writeId));
    // Only an upload that still exists is dropped: if its commit went through after all (the answer
    // was lost with the connection), the upload row is gone and the segments belong to the object.
    const moved = await this.#db.tx("relaxed", async (q) => {
      const gone = await q.query("DELETE FROM uploads WHERE write_id = $1 RETURNING 1", [writeId]);
      if (gone.length === 0) return false;
      await q.query(
        `INSERT INTO trash (write_id, trashed_at) VALUES ($1, '-infinity')
         ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'`,
        [writeId],
      );
      return true;
    });
    // Should this process die now, any process's reclaim finishes the job.
    if (moved) await this.#purgeNow([writeId]);
  }

  async sweepAbandonedUploads(): Promise<number> {
    const live = [...this.#live.values()];
    const moved = await this.#db.tx("relaxed", (q) =>
      q.query<{ write_id: Buffer }>(
        `WITH gone AS (
           DELETE FROM uploads WHERE heartbeat < now() - $1::interval AND NOT (write_id = ANY($2::bytea[]))
           RETURNING write_id)
         INSERT INTO trash (write_id, trashed_at) SELECT write_id, '-infinity' FROM gone
         ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'
         RETURNING write_id`,
        [ms(this.#staleMs), live],
      ),
    );
    return this.#purgeNow(moved.map((r) => r.write_id));
  }

  async deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean> {
    return this.#db.tx("durable", async (q) => {
      const [cur] = await q.query<{ etag: string; write_id: Buffer }>(
        "SELECT etag, write_id FROM objects WHERE owner = $1 AND id = $2 FOR UPDATE",
        [owner, id],
      );
      if (cond) checkWriteCondition(cur, cond);
      if (!cur) return false;
      await q.query("DELETE FROM objects WHERE owner = $1 AND id = $2", [owner, id]);
      await q.query(
        "INSERT INTO trash (write_id, trashed_at) VALUES ($1, now()) ON CONFLICT (write_id) DO NOTHING",
        [cur.write_id],
      );
      return true;
    });
  }

  async readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count))
      throw new RangeError("bad segment range");
    // Binary COPY: raw bytes instead of hex text (see binary-copy.ts); COPY takes no parameters.
    return this.#db.copyOut(
      `COPY (SELECT data FROM segments WHERE write_id = ${byteaLiteral(writeId)}
             AND idx >= ${first} AND idx < ${first + count} ORDER BY idx) TO STDOUT (FORMAT binary)`,
    );
  }

  async reclaim(busy: ReadonlySet<string>): Promise<number> {
    this.#reading = busy;
    await this.#pin(busy);
    // Our own pins do not hold us back: `busy` is the exact, live picture of this process's readers.
    const due = await this.#db.query<{ write_id: Buffer }>(
      `SELECT t.write_id FROM trash t
       WHERE t.trashed_at <= now() - $1::interval
         AND NOT EXISTS (SELECT 1 FROM read_pins p
                         WHERE p.write_id = t.write_id AND p.reader <> $2 AND p.pinned_until > now())
       ORDER BY t.trashed_at LIMIT $3`,
      [ms(this.#graceMs), this.#reader, RECLAIM_PAGE],
    );
    let n = 0;
    for (const { write_id: w } of due) {
      const key = hex(w);
      // `busy` is consulted before every batch: a reader may start on a write while we purge others.
      if (busy.has(key)) continue;
      if (!(await this.#purge(w, () => !busy.has(key)))) continue;
      await this.#untrash(w);
      n++;
    }
    return n;
  }

  // --- key bookkeeping -----------------------------------------------------------------------------

  async objectKeyInfo(owner: string, afterId: string | null, limit: number): Promise<ObjectKeyInfo[]> {
    if (limit <= 0) return [];
    const rows = await this.#db.query<{
      id: string;
      write_id: Buffer;
      kek_version: number;
      wrapped_dek: Buffer;
    }>(
      `SELECT id, write_id, kek_version, wrapped_dek FROM objects
       WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [owner, afterId ?? "", limit],
    );
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
    const rows = await this.#db.query(
      `UPDATE objects SET kek_version = $1, wrapped_dek = $2
       WHERE owner = $3 AND id = $4 AND write_id = $5 RETURNING 1`,
      [kekVersion, wrappedDek, owner, id, writeId],
    );
    return rows.length > 0;
  }

  async updateWrappedDeks(owner: string, items: DekRewrap[]): Promise<number> {
    if (items.length === 0) return 0;
    // One statement, one durable commit: a raised minimum decryption version relies on these rows.
    const rows = await this.#db.query(
      `UPDATE objects o SET kek_version = v.kek_version, wrapped_dek = v.wrapped_dek
       FROM unnest($2::text[], $3::bytea[], $4::integer[], $5::bytea[]) AS v(id, write_id, kek_version, wrapped_dek)
       WHERE o.owner = $1 AND o.id = v.id AND o.write_id = v.write_id
       RETURNING 1`,
      [
        owner,
        items.map((it) => it.id),
        items.map((it) => it.writeId),
        items.map((it) => it.kekVersion),
        items.map((it) => it.wrappedDek),
      ],
    );
    return rows.length;
  }

  async countByKekVersion(owner: string): Promise<Map<number, number>> {
    const rows = await this.#db.query<{ v: number; n: number }>(
      "SELECT kek_version AS v, count(*) AS n FROM objects WHERE owner = $1 GROUP BY kek_version",
      [owner],
    );
    return new Map(rows.map((r) => [r.v, r.n]));
  }

  // --- users and tokens ----------------------------------------------------------------------------

  async countUsers(): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>("SELECT count(*) AS n FROM users");
    return row?.n ?? 0;
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      await this.#db.query("INSERT INTO users (uid, name, role, created) VALUES ($1, $2, $3, $4)", [
        user.uid,
        user.name,
        user.role,
        user.created,
      ]);
    } catch (err) {
      if (isConstraint(err, "unique", "users_name_key"))
        throw new AppError("user_exists", "a user with this name already exists");
      if (isConstraint(err, "unique")) throw new AppError("conflict", "a user with this uid already exists");
      throw err;
    }
  }

  async getUserByName(name: string): Promise<UserRecord | null> {
    const [row] = await this.#db.query<UserRow>(
      "SELECT uid, name, role, created FROM users WHERE name = $1",
      [name],
    );
    return row ? toUser(row) : null;
  }

  async getUserByUid(uid: string): Promise<UserRecord | null> {
    const [row] = await this.#db.query<UserRow>("SELECT uid, name, role, created FROM users WHERE uid = $1", [
      uid,
    ]);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.#db.query<UserRow>("SELECT uid, name, role, created FROM users ORDER BY name");
    return rows.map(toUser);
  }

  async deleteUser(uid: string): Promise<boolean> {
    // The rows go in one durable transaction; the writes are queued in the trash first so that a
    // crash during the purge below still ends with the segments reclaimed.
    const writes = await this.#db.tx("durable", async (q) => {
      const found = await q.query("SELECT 1 FROM users WHERE uid = $1 FOR UPDATE", [uid]);
      if (found.length === 0) return null;
      const ws = await q.query<{ write_id: Buffer }>(
        `INSERT INTO trash (write_id, trashed_at)
           SELECT write_id, '-infinity'::timestamptz FROM objects WHERE owner = $1
           UNION ALL SELECT write_id, '-infinity'::timestamptz FROM uploads WHERE owner = $1
         ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'
         RETURNING write_id`,
        [uid],
      );
      await q.query("DELETE FROM objects WHERE owner = $1", [uid]);
      await q.query("DELETE FROM uploads WHERE owner = $1", [uid]);
      await q.query("DELETE FROM tokens WHERE uid = $1", [uid]);
      await q.query("DELETE FROM users WHERE uid = $1", [uid]);
      return ws.map((r) => r.write_id);
    });
    if (writes === null) return false;
    for (const w of writes) this.#live.delete(hex(w));
    // The user's keys are being destroyed, so no reader needs these segments: purge at once.
    await this.#purgeNow(writes);
    return true;
  }

  async createToken(token: TokenRecord): Promise<void> {
    try {
      await this.#db.query(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        token.id,
        token.uid,
        token.label,
        token.scopes,
        token.secretHash,
        token.created,
        token.lastUsed,
        token.expiresAt,
      ]);
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the user does not exist");
      if (isConstraint(err, "unique")) throw new AppError("conflict", "token id already exists");
      throw err;
    }
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const [row] = await this.#db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = $1`, [id]);
    return row ? toToken(row) : null;
  }

  async getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null> {
    const [row] = await this.#db.query<TokenUserRow>(
      `SELECT t.id, t.uid, t.label, t.scopes, t.secret_hash, t.created, t.last_used, t.expires_at,
              u.name AS user_name, u.role AS user_role, u.created AS user_created
       FROM tokens t JOIN users u ON u.uid = t.uid WHERE t.id = $1`,
      [id],
    );
    return row ? toTokenWithUser(row) : null;
  }

  async listTokens(uid: string): Promise<TokenRecord[]> {
    const rows = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE uid = $1 ORDER BY created, id`,
      [uid],
    );
    return rows.map(toToken);
  }

  async deleteToken(uid: string, id: string): Promise<boolean> {
    const rows = await this.#db.query("DELETE FROM tokens WHERE uid = $1 AND id = $2 RETURNING 1", [uid, id]);
    return rows.length > 0;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    await this.#db.query("UPDATE tokens SET last_used = $1 WHERE id = $2", [at, id]);
  }

  // --- jobs ----------------------------------------------------------------------------------------

  async createJob(job: JobRecord): Promise<void> {
    try {
      await this.#db.query(
        `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          job.id,
          job.kind,
          job.owner,
          job.target,
          job.state,
          job.done,
          job.total,
          job.error,
          job.cursor,
          job.result,
          job.created,
          job.updated,
        ],
      );
    } catch (err) {
      if (isConstraint(err, "unique")) throw new AppError("conflict", "job id already exists");
      throw err;
    }
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const [row] = await this.#db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const values: unknown[] = [id];
    const sets = ["updated = clock_timestamp()"];
    for (const key of ["state", "done", "total", "error", "cursor", "result"] as const) {
      if (patch[key] === undefined) continue;
      values.push(patch[key]);
      sets.push(`${key} = $${values.length}`);
    }
    const rows = await this.#db.query(`UPDATE jobs SET ${sets.join(", ")} WHERE id = $1 RETURNING 1`, values);
    if (rows.length === 0) throw new AppError("not_found", "no such job");
  }

  async claimJob(worker: string, leaseMs: number): Promise<JobRecord | null> {
    // SKIP LOCKED: processes claiming at the same moment take different jobs instead of waiting.
    const [row] = await this.#db.query<JobRow>(
      `UPDATE jobs SET lease_owner = $1, lease_until = now() + $2::interval
       WHERE id = (SELECT id FROM jobs
                   WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= now())
                   ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING ${JOB_COLUMNS}`,
      [worker, ms(leaseMs)],
    );
    return row ? toJob(row) : null;
  }

  async renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean> {
    const rows = await this.#db.query(
      `UPDATE jobs SET lease_until = now() + $1::interval
       WHERE id = $2 AND lease_owner = $3 AND state = 'running' RETURNING 1`,
      [ms(leaseMs), id, worker],
    );
    return rows.length > 0;
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  async ping(): Promise<void> {
    await this.#db.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    await this.#db.close();
  }
}
