// The ObjectStore on objects.db: metadata, and the segments of small writes inline, so that one
// transaction covers both; the segments of larger writes go to a BlobStore (blob files beside
// objects.db), sealed durable before the commit that names them. Data directories from before the
// blob layout keep every segment in objects.db: reads look there first. better-sqlite3 is
// synchronous; long deletions run in small batches that yield to the event loop between them. The
// reclaimer purges a multipart object's parts and manifest with its write (the busy set names the
// object's write, which its readers hold).
import { AppError } from "../../errors.js";
import type { BlobStore } from "../blob-store.js";
import { ID_HIGH, integerIdValue, prefixAdmitsIntegers } from "../id-order.js";
import type {
  CommitResult,
  ListOptions,
  ObjectForRead,
  ObjectStore,
  WriteCondition,
} from "../object-store.js";
import type { DekRewrap, ObjectKeyInfo, ObjectMeta } from "../records.js";
import { sqliteRows, toKeyInfo } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { OBJECT_KEYS, OBJECTS } from "../rows.js";
import { checkCondition } from "../write-condition.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";
import { ObjectRows } from "./object-rows.js";
import { WriteData } from "./write-data.js";

/** Below every safe integer, so `num > NO_NUM` selects all integer ids. */
const NO_NUM = Number.MIN_SAFE_INTEGER - 1;
const uploadGone = () => new AppError("conflict", "the upload no longer exists");
const ownerMissing = () => new AppError("not_found", "the owner does not exist");
const hex = (b: Buffer) => b.toString("hex");

type ObjectRow = Rows.ObjectRow<number>;
const { toMeta } = sqliteRows;

/**
 * Uploads (object and part writes) begun by this instance and still open, by hex write id: the
 * sweep spares them. Shared by the object and multipart ports, since commitPart ends part writes.
 */
export type LiveUploads = Set<string>;

/** With workers, how long a replaced or deleted write stays readable for readers in other processes. */
export const SHARED_TRASH_GRACE_MS = 5 * 60_000;

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    getObject: p(`SELECT ${OBJECTS.list} FROM objects WHERE owner = ? AND id = ?`),
    getObjectForRead: p(
      `SELECT ${OBJECTS.of("o")}, s.data AS segment FROM objects o
       LEFT JOIN segments s ON o.size <= @inlineMax AND o.size <= o.segment_size
                           AND s.write_id = o.write_id AND s.idx = 0
       WHERE o.owner = @owner AND o.id = @id`,
    ),
    currentObject: p("SELECT etag, write_id FROM objects WHERE owner = ? AND id = ?"),
    // INDEXED BY: the (owner, num, id) index gives both halves of the list order as range scans.
    listIntegers: p(
      `SELECT ${OBJECTS.list} FROM objects INDEXED BY objects_list
       WHERE owner = @owner AND num > @after AND id >= @lo AND id < @hi ORDER BY num LIMIT @limit`,
    ),
    listStrings: p(
      `SELECT ${OBJECTS.list} FROM objects INDEXED BY objects_list
       WHERE owner = @owner AND num IS NULL AND id > @after AND id >= @lo AND id < @hi ORDER BY id LIMIT @limit`,
    ),
    maxIntegerId: p(
      `SELECT num FROM objects INDEXED BY objects_list
       WHERE owner = ? AND num IS NOT NULL ORDER BY num DESC LIMIT 1`,
    ).pluck(),
    deleteObject: p("DELETE FROM objects WHERE owner = ? AND id = ?"),
    // A multipart object's parts go with its write (#reclaimWrite); those of uploads in progress by name.
    ownerWrites: p(
      `SELECT write_id FROM objects WHERE owner = @owner
       UNION ALL SELECT write_id FROM uploads WHERE owner = @owner
       UNION ALL SELECT p.write_id FROM multipart_parts p JOIN multipart_uploads u USING (upload_id)
                 WHERE u.owner = @owner`,
    ).pluck(),
    deleteOwnerObjects: p("DELETE FROM objects WHERE owner = ?"),
    deleteOwnerUploads: p("DELETE FROM uploads WHERE owner = ?"),
    // Their parts go by ON DELETE CASCADE.
    deleteOwnerMultipart: p("DELETE FROM multipart_uploads WHERE owner = ?"),
    deleteOwnerBuckets: p("DELETE FROM buckets WHERE owner = ?"),

    insertUpload: p("INSERT INTO uploads (write_id, owner, id, started) VALUES (?, ?, ?, ?)"),
    uploadExists: p("SELECT 1 FROM uploads WHERE write_id = ?").pluck(),
    deleteUpload: p("DELETE FROM uploads WHERE write_id = ?"),
    allUploads: p("SELECT write_id FROM uploads").pluck(),
    trashed: p("SELECT write_id FROM trash WHERE trashed_at <= ? ORDER BY trashed_at").pluck(),
    untrash: p("DELETE FROM trash WHERE write_id = ?"),
    objectParts: p("SELECT part_write_id FROM object_parts WHERE write_id = ? ORDER BY number").pluck(),
    forgetParts: p("DELETE FROM object_parts WHERE write_id = ?"),
    forgetManifest: p("DELETE FROM manifests WHERE write_id = ?"),

    keyInfo: p(`SELECT ${OBJECT_KEYS.list} FROM objects WHERE owner = ? AND id > ? ORDER BY id LIMIT ?`),
    updateWrappedDek: p(
      `UPDATE objects SET kek_version = ?, wrapped_dek = ?
       WHERE owner = ? AND id = ? AND write_id = ?`,
    ),
    // Uploads in progress hold a wrapped DEK too: their KEK version must not be retired under them.
    countByKek: p(
      `SELECT v, sum(n) AS n FROM (
         SELECT kek_version AS v, count(*) AS n FROM objects WHERE owner = @owner GROUP BY kek_version
         UNION ALL
         SELECT kek_version AS v, count(*) AS n FROM multipart_uploads WHERE owner = @owner GROUP BY kek_version)
       GROUP BY v`,
    ),
  };
}

export class SqliteObjectStore implements ObjectStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;
  readonly #rows: ObjectRows;
  readonly #live: LiveUploads;
  readonly #shared: boolean;
  readonly #data: WriteData;

  /**
   * `shared`: other server processes (SSE_WORKERS) use the file too. Their uploads and readers are
   * not in this process's sets, so no sweep here, and replaced writes wait out SHARED_TRASH_GRACE_MS.
   * `blobs`: where the segments of writes too large to commit inline go; null keeps them in objects.db.
   */
  constructor(
    db: SqliteDatabase,
    live: LiveUploads = new Set(),
    opts: { shared?: boolean; blobs?: BlobStore | null; backupHold?: string } = {},
  ) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#rows = new ObjectRows(db);
    this.#live = live;
    this.#shared = opts.shared === true;
    this.#data = new WriteData(db, opts.blobs ?? null, opts.backupHold ?? null);
  }

  /**
   * Purges a trashed write and takes it out of the trash: its segments, and for a multipart object
   * its parts' segments, its parts and its manifest. False if stopped early; a later pass resumes.
   */
  async #reclaimWrite(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    const s = this.#s;
    // Checked after the write went to the trash: a snapshot taken once the hold exists names only
    // writes that are not in the trash yet, and so keeps every one of them.
    if (this.#data.backupHeld()) return false;
    if (!(await this.#data.purge(writeId, stillWanted))) return false;
    const parts = this.#db.guard(() => s.objectParts.all(writeId)) as Buffer[];
    for (const part of parts) if (!(await this.#data.purge(part, stillWanted))) return false;
    this.#db.relaxed(() => {
      s.forgetParts.run(writeId);
      s.forgetManifest.run(writeId);
      s.untrash.run(writeId);
    });
    return true;
  }

  // --- objects -------------------------------------------------------------------------------------

  async getObject(owner: string, id: string): Promise<ObjectMeta | null> {
    const row = this.#db.guard(() => this.#s.getObject.get(owner, id)) as ObjectRow | undefined;
    return row ? toMeta(row) : null;
  }

  async getObjectForRead(owner: string, id: string, inlineMax: number): Promise<ObjectForRead | null> {
    const row = this.#db.guard(() => this.#s.getObjectForRead.get({ owner, id, inlineMax })) as
      | (ObjectRow & { segment: Buffer | null })
      | undefined;
    return row ? { meta: toMeta(row), segment: row.segment } : null;
  }

  async listObjects(owner: string, opts: ListOptions): Promise<ObjectMeta[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const prefix = opts.prefix ?? "";
    const range = { lo: prefix, hi: prefix + ID_HIGH };
    const afterNum = opts.after === undefined ? NO_NUM : integerIdValue(opts.after);
    return this.#db.read(() => {
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
    });
  }

  async maxIntegerId(owner: string): Promise<number | null> {
    const n = this.#db.guard(() => this.#s.maxIntegerId.get(owner)) as number | undefined;
    return n ?? null;
  }

  async commitObject(
    meta: ObjectMeta,
    cond: WriteCondition,
    inlineSegments?: Buffer[],
  ): Promise<CommitResult> {
    const s = this.#s;
    let result: CommitResult;
    // The blob's data and name are durable before the row that names it is committed.
    if (inlineSegments === undefined) await this.#data.seal(meta.writeId);
    try {
      result = await this.#db.grouped(() => {
        const cur = this.#rows.check(meta.owner, meta.id, cond);
        if (inlineSegments === undefined && s.uploadExists.get(meta.writeId) === undefined)
          throw uploadGone();
        const res = this.#rows.put(meta, cur);
        this.#data.insertInline(meta.writeId, inlineSegments ?? []);
        s.deleteUpload.run(meta.writeId);
        return res;
      });
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw ownerMissing();
      throw err;
    }
    this.#live.delete(hex(meta.writeId));
    return result;
  }

  async deleteObject(owner: string, id: string, cond?: WriteCondition): Promise<boolean> {
    return this.#db.grouped(() => {
      const cur = this.#s.currentObject.get(owner, id) as { etag: string; write_id: Buffer } | undefined;
      if (cond) checkCondition(cur, cond);
      if (!cur) return false;
      this.#s.deleteObject.run(owner, id);
      this.#rows.trash(cur.write_id);
      return true;
    });
  }

  async deleteOwnerObjects(owner: string): Promise<void> {
    const s = this.#s;
    // The rows go in one durable transaction; their writes are queued in trash first so that a crash
    // during the purge below still ends with the segments reclaimed.
    const writes = this.#db.durable(() => {
      const ws = s.ownerWrites.all({ owner }) as Buffer[];
      for (const w of ws) this.#rows.trash(w);
      s.deleteOwnerObjects.run(owner);
      s.deleteOwnerUploads.run(owner);
      s.deleteOwnerMultipart.run(owner);
      s.deleteOwnerBuckets.run(owner);
      return ws;
    });
    // The owner's keys are destroyed first, so no reader needs these segments: purge at once.
    for (const w of writes) {
      this.#live.delete(hex(w));
      if (!(await this.#reclaimWrite(w))) break;
    }
  }

  // --- uploads and segments ------------------------------------------------------------------------

  async beginUpload(owner: string, id: string, writeId: Buffer): Promise<void> {
    try {
      // Relaxed is enough: the WAL keeps commit order, so segments never outlive this row on a crash.
      this.#db.relaxed(() => this.#s.insertUpload.run(writeId, owner, id, Date.now()));
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw ownerMissing();
      throw err;
    }
    this.#live.add(hex(writeId));
  }

  async appendSegments(writeId: Buffer, first: number, segments: Buffer[]): Promise<void> {
    // Segments of an aborted upload would have nothing left to reclaim them.
    await this.#data.append(writeId, first, segments, () => {
      if (this.#s.uploadExists.get(writeId) === undefined) throw uploadGone();
    });
  }

  async abortUpload(writeId: Buffer): Promise<void> {
    this.#live.delete(hex(writeId));
    // Only an upload that still exists is dropped: once committed (an object or a part whose
    // answer the caller did not see), its segments are no longer the upload's to purge.
    if (this.#db.guard(() => this.#s.uploadExists.get(writeId)) === undefined) return;
    // The row goes last, so that a crash mid-way leaves it for the sweep.
    if (await this.#data.purge(writeId)) this.#db.relaxed(() => this.#s.deleteUpload.run(writeId));
  }

  async sweepAbandonedUploads(): Promise<number> {
    // Safe alongside other processes: see WriteData.sweepOrphans.
    const orphans = await this.#data.sweepOrphans();
    // Shared by workers: an upload begun elsewhere may be alive. The primary sweeps before it forks.
    if (this.#shared) return orphans;
    // One process owns the file: every upload not begun by this instance died with a previous one.
    const abandoned = (this.#db.guard(() => this.#s.allUploads.all()) as Buffer[]).filter(
      (w) => !this.#live.has(hex(w)),
    );
    let n = 0;
    for (const w of abandoned) {
      if (!(await this.#data.purge(w))) break;
      this.#db.relaxed(() => this.#s.deleteUpload.run(w));
      n++;
    }
    return n + orphans;
  }

  readSegments(writeId: Buffer, first: number, count: number): Promise<Buffer[]> {
    return this.#data.read(writeId, first, count);
  }

  orphanedBlobs(): Promise<{ count: number; bytes: number }> {
    return this.#data.orphaned();
  }

  async reclaim(busy: ReadonlySet<string>): Promise<number> {
    // Readers in other processes are not in `busy`: with workers, a replaced write stays a while.
    const cutoff = Date.now() - (this.#shared ? SHARED_TRASH_GRACE_MS : 0);
    const trashed = this.#db.guard(() => this.#s.trashed.all(cutoff)) as Buffer[];
    let n = 0;
    for (const w of trashed) {
      const key = hex(w);
      // `busy` is consulted before every batch: a reader may start on a write while we purge others.
      if (busy.has(key)) continue;
      if (!(await this.#reclaimWrite(w, () => !busy.has(key)))) continue;
      n++;
    }
    return n;
  }

  // --- key bookkeeping -----------------------------------------------------------------------------

  async objectKeyInfo(owner: string, afterId: string | null, limit: number): Promise<ObjectKeyInfo[]> {
    if (limit <= 0) return [];
    const rows = this.#db.guard(() =>
      this.#s.keyInfo.all(owner, afterId ?? "", limit),
    ) as Rows.ObjectKeyRow[];
    return rows.map(toKeyInfo);
  }

  async updateWrappedDek(
    owner: string,
    id: string,
    writeId: Buffer,
    kekVersion: number,
    wrappedDek: Buffer,
  ): Promise<boolean> {
    // Durable: a raised minimum decryption version relies on these rows having moved.
    const { changes } = this.#db.durable(() =>
      this.#s.updateWrappedDek.run(kekVersion, wrappedDek, owner, id, writeId),
    );
    return changes > 0;
  }

  async updateWrappedDeks(owner: string, items: DekRewrap[]): Promise<number> {
    if (items.length === 0) return 0;
    const s = this.#s;
    // One fsync for the whole batch: a raised minimum decryption version relies on these rows.
    return this.#db.durable(() => {
      let n = 0;
      for (const it of items)
        n += s.updateWrappedDek.run(it.kekVersion, it.wrappedDek, owner, it.id, it.writeId).changes;
      return n;
    });
  }

  async countByKekVersion(owner: string): Promise<Map<number, number>> {
    const rows = this.#db.guard(() => this.#s.countByKek.all({ owner })) as { v: number; n: number }[];
    return new Map(rows.map((r) => [r.v, r.n]));
  }
}
