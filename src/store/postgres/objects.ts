// The ObjectStore on PostgreSQL, shared by any number of server processes. Metadata and ciphertext
// segments (BYTEA rows) live in one schema so that one transaction covers both.
//
// What differs from SQLite, because other processes share the database:
// - A replaced or deleted write may still be streamed by a reader in another process, whose busy set
//   we cannot see. So a trashed write is kept for a grace period, and every process pins the trashed
//   writes its own readers still stream (liveness.ts), so long downloads are safe too.
// - Another process may be mid-upload: an upload is abandoned only when its heartbeat (renewed by its
//   writer's appends and by liveness.ts) is older than a staleness threshold.
// - Two processes may race to create one id: the loser sees the winner's row and its condition is
//   checked against it (precondition_failed), never a unique-violation 500.
// A multipart object's parts and manifest are purged with its write (trash.ts), which its readers pin.
import { AppError } from "../../errors.js";
import { ID_HIGH, integerIdValue, prefixAdmitsIntegers } from "../id-order.js";
import type {
  CommitResult,
  ListOptions,
  ObjectForRead,
  ObjectStore,
  WriteCondition,
} from "../object-store.js";
import type { DekRewrap, ObjectKeyInfo, ObjectMeta } from "../records.js";
import { postgresRows, toKeyInfo } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { OBJECT_KEYS, OBJECTS, OBJECTS_WRITTEN, valuesOf } from "../rows.js";
import { checkCondition, objectExists } from "../write-condition.js";
import { byteaLiteral } from "./binary-copy.js";
import { interval, type Liveness } from "./liveness.js";
import { INSERT_OBJECT, putObjectRow } from "./object-rows.js";
import type { PgDatabase, Queryable } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";
import { TRASH, TRASH_NOW, Trash } from "./trash.js";

/** Most segments created inline in one statement (with their object row). */
const INLINE_CREATE_MAX = 64;

const uploadGone = () => new AppError("conflict", "the upload no longer exists");
const ownerMissing = () => new AppError("not_found", "the owner does not exist");

type ObjectRow = Rows.ObjectRow<Date>;
const { toMeta, fromMeta } = postgresRows;

/** Inserts segments `first, first+1, …` of a write, as raw bytes (binary COPY, see binary-copy.ts). */
async function insertSegments(
  q: Queryable,
  writeId: Buffer,
  first: number,
  segments: Buffer[],
): Promise<void> {
  if (segments.length === 0) return;
  if (!q.binaryCopy) {
    await q.query(
      `INSERT INTO segments (write_id, idx, data)
       SELECT $1, $2::int + s.i - 1, s.data FROM unnest($3::bytea[]) WITH ORDINALITY AS s(data, i)`,
      [writeId, first, segments],
    );
    return;
  }
  const rows = segments.map((seg, i) => {
    const idx = Buffer.allocUnsafe(4);
    idx.writeInt32BE(first + i);
    return [writeId, idx, seg];
  });
  await q.copyIn("COPY segments (write_id, idx, data) FROM STDIN (FORMAT binary)", rows);
}

export class PostgresObjectStore implements ObjectStore {
  readonly #db: PgDatabase;
  readonly #liveness: Liveness;
  readonly #trash: Trash;

  constructor(db: PgDatabase, liveness: Liveness) {
    this.#db = db;
    this.#liveness = liveness;
    this.#trash = new Trash(db, liveness);
  }

  // --- objects -------------------------------------------------------------------------------------

  async getObject(owner: string, id: string): Promise<ObjectMeta | null> {
    const [row] = await this.#db.query<ObjectRow>(
      `SELECT ${OBJECTS.list} FROM objects WHERE owner = $1 AND id = $2`,
      [owner, id],
    );
    return row ? toMeta(row) : null;
  }

  async getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null> {
    const [row] = await this.#db.query<ObjectRow & { segment: Buffer | null }>(
      `SELECT ${OBJECTS.of("o")}, s.data AS segment FROM objects o
       LEFT JOIN segments s ON o.size <= $3 AND o.size <= o.segment_size
                           AND s.write_id = o.write_id AND s.idx = 0
       WHERE o.owner = $1 AND o.id = $2`,
      [owner, id, inlineMax],
    );
    return row ? { meta: toMeta(row), segment: row.segment } : null;
  }

  async listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const prefix = opts.prefix ?? "";
    const afterNum = opts.after === undefined ? null : integerIdValue(opts.after);
    // An `after` that is not an integer id lies past every integer id.
    const withIntegers = (opts.after === undefined || afterNum !== null) && prefixAdmitsIntegers(prefix);
    const afterString = opts.after === undefined || afterNum !== null ? "" : opts.after;
    const strings = `(SELECT 1 AS part, num, ${OBJECTS.list} FROM objects
       WHERE owner = $1 AND num IS NULL AND id > $2 AND id >= $3 AND id < $4 ORDER BY id LIMIT $5)`;
    const integers = `(SELECT 0 AS part, num, ${OBJECTS.list} FROM objects
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

  async commitObject(
    meta: ObjectMeta,
    cond: WriteCondition,
    inlineSegments?: Buffer[],
  ): Promise<CommitResult> {
    let result: CommitResult;
    try {
      const created = await this.#tryCreateInline(meta, cond, inlineSegments);
      if (created) return created;
      result = await this.#db.tx("durable", async (q) => {
        if (inlineSegments === undefined) {
          const up = await q.query("SELECT 1 FROM uploads WHERE write_id = $1 FOR UPDATE", [meta.writeId]);
          if (up.length === 0) throw uploadGone();
        }
        const res = await putObjectRow(q, meta, cond);
        if (inlineSegments !== undefined) await insertSegments(q, meta.writeId, 0, inlineSegments);
        else await q.query("DELETE FROM uploads WHERE write_id = $1", [meta.writeId]);
        return res;
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw ownerMissing();
      throw err;
    }
    this.#liveness.uploadEnded(meta.writeId);
    return result;
  }

  /**
   * The common case of a small object or an item that does not exist yet, in one statement (one
   * round trip, durable at its commit): insert the row and its segments unless the id is taken.
   * Null when the general path must decide (the object exists and may be replaced).
   */
  async #tryCreateInline(
    meta: ObjectMeta,
    cond: WriteCondition,
    inlineSegments: Buffer[] | undefined,
  ): Promise<CommitResult | null> {
    if (
      inlineSegments === undefined ||
      cond.ifMatch !== undefined ||
      inlineSegments.length > INLINE_CREATE_MAX
    )
      return null;
    const values = valuesOf(OBJECTS_WRITTEN.names, fromMeta(meta));
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
      `WITH ins AS (${INSERT_OBJECT} RETURNING write_id)${withSegments}
       SELECT count(*)::integer AS n FROM ins`,
      values,
    );
    if (res?.n === 1) return { created: true, createdAt: meta.created };
    if (cond.ifNoneMatch) throw objectExists();
    return null;
  }

  async deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean> {
    return this.#db.tx("durable", async (q) => {
      const [cur] = await q.query<{ etag: string; write_id: Buffer }>(
        "SELECT etag, write_id FROM objects WHERE owner = $1 AND id = $2 FOR UPDATE",
        [owner, id],
      );
      if (cond) checkCondition(cur, cond);
      if (!cur) return false;
      await q.query("DELETE FROM objects WHERE owner = $1 AND id = $2", [owner, id]);
      await q.query(TRASH, [cur.write_id]);
      return true;
    });
  }

  async deleteOwnerObjects(owner: string): Promise<void> {
    // The rows go in one durable transaction; the writes are queued in the trash first (due at once)
    // so that a crash during the purge below still ends with the segments reclaimed.
    // A multipart object's parts go with its write (trash.ts); those of uploads in progress by name.
    const writes = await this.#db.tx("durable", async (q) => {
      const ws = await q.query<{ write_id: Buffer }>(
        `INSERT INTO trash (write_id, trashed_at)
           SELECT write_id, '-infinity'::timestamptz FROM objects WHERE owner = $1
           UNION ALL SELECT write_id, '-infinity'::timestamptz FROM uploads WHERE owner = $1
           UNION ALL SELECT p.write_id, '-infinity'::timestamptz
                     FROM multipart_parts p JOIN multipart_uploads u USING (upload_id) WHERE u.owner = $1
         ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'
         RETURNING write_id`,
        [owner],
      );
      await q.query("DELETE FROM objects WHERE owner = $1", [owner]);
      await q.query("DELETE FROM uploads WHERE owner = $1", [owner]);
      // Their parts go by ON DELETE CASCADE.
      await q.query("DELETE FROM multipart_uploads WHERE owner = $1", [owner]);
      await q.query("DELETE FROM buckets WHERE owner = $1", [owner]);
      return ws.map((r) => r.write_id);
    });
    for (const w of writes) this.#liveness.uploadEnded(w);
    // The owner's keys are destroyed first, so no reader needs these segments: purge at once.
    await this.#trash.purgeNow(writes);
  }

  // --- uploads and segments ------------------------------------------------------------------------

  async beginUpload(owner: string, id: string, writeId: Buffer): Promise<void> {
    try {
      await this.#db.query("INSERT INTO uploads (write_id, owner, id) VALUES ($1, $2, $3)", [
        writeId,
        owner,
        id,
      ]);
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw ownerMissing();
      throw err;
    }
    this.#liveness.uploadBegun(writeId);
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

  async abortUpload(writeId: Buffer): Promise<void> {
    this.#liveness.uploadEnded(writeId);
    // Only an upload that still exists is dropped: if its commit went through after all (the answer
    // was lost with the connection), the upload row is gone and the segments belong to the object.
    const moved = await this.#db.tx("relaxed", async (q) => {
      const gone = await q.query("DELETE FROM uploads WHERE write_id = $1 RETURNING 1", [writeId]);
      if (gone.length === 0) return false;
      await q.query(TRASH_NOW, [writeId]);
      return true;
    });
    // Should this process die now, any process's reclaim finishes the job.
    if (moved) await this.#trash.purgeNow([writeId]);
  }

  async sweepAbandonedUploads(): Promise<number> {
    const moved = await this.#db.tx("relaxed", (q) =>
      q.query<{ write_id: Buffer }>(
        `WITH gone AS (
           DELETE FROM uploads WHERE heartbeat < now() - $1::interval AND NOT (write_id = ANY($2::bytea[]))
           RETURNING write_id)
         INSERT INTO trash (write_id, trashed_at) SELECT write_id, '-infinity' FROM gone
         ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'
         RETURNING write_id`,
        [interval(this.#liveness.staleMs), this.#liveness.liveUploads()],
      ),
    );
    return this.#trash.purgeNow(moved.map((r) => r.write_id));
  }

  async readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count))
      throw new RangeError("bad segment range");
    if (!this.#db.binaryCopy) {
      const rows = await this.#db.query<{ data: Buffer }>(
        "SELECT data FROM segments WHERE write_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        [writeId, first, first + count],
      );
      return rows.map((r) => r.data);
    }
    // Binary COPY: raw bytes instead of hex text (see binary-copy.ts); COPY takes no parameters.
    return this.#db.copyOut(
      `COPY (SELECT data FROM segments WHERE write_id = ${byteaLiteral(writeId)}
             AND idx >= ${first} AND idx < ${first + count} ORDER BY idx) TO STDOUT (FORMAT binary)`,
    );
  }

  /** Segments live in PostgreSQL (docs/OPERATIONS.md): there are no blobs to orphan. */
  async orphanedBlobs(): Promise<{ count: number; bytes: number }> {
    return { count: 0, bytes: 0 };
  }

  reclaim(busy: ReadonlySet<string>): Promise<number> {
    return this.#trash.reclaim(busy);
  }

  // --- key bookkeeping -----------------------------------------------------------------------------

  async objectKeyInfo(owner: string, afterId: string | null, limit: number): Promise<ObjectKeyInfo[]> {
    if (limit <= 0) return [];
    const rows = await this.#db.query<Rows.ObjectKeyRow>(
      `SELECT ${OBJECT_KEYS.list} FROM objects WHERE owner = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [owner, afterId ?? "", limit],
    );
    return rows.map(toKeyInfo);
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
    // Uploads in progress hold a wrapped DEK too: their KEK version must not be retired under them.
    const rows = await this.#db.query<{ v: number; n: number }>(
      `SELECT v, sum(n)::bigint AS n FROM (
         SELECT kek_version AS v, count(*) AS n FROM objects WHERE owner = $1 GROUP BY kek_version
         UNION ALL
         SELECT kek_version AS v, count(*) AS n FROM multipart_uploads WHERE owner = $1 GROUP BY kek_version
       ) AS c GROUP BY v`,
      [owner],
    );
    return new Map(rows.map((r) => [r.v, r.n]));
  }
}
