// The MultipartStore on PostgreSQL, shared by any number of server processes. Every change to an
// upload (commitPart, completeMultipart, abortMultipart) first locks its row, so that racing
// changes of one upload, in any processes, take turns and each sees the other's outcome: two
// completes end with one object and one not_found, a part committed during a complete is either
// in it or refused.
import { AppError } from "../../errors.js";
import { ID_HIGH } from "../id-order.js";
import { checkPartList, checkUploadFor, unnamedParts, uploadMissing } from "../multipart-rules.js";
import type { MultipartStore, UploadListOptions } from "../multipart-store.js";
import type { CommitResult, WriteCondition } from "../object-store.js";
import type { MultipartUploadRecord, ObjectMeta, PartRecord } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { MULTIPART_PARTS, MULTIPART_UPLOADS, pgInsert, valuesOf } from "../rows.js";
import type { Liveness } from "./liveness.js";
import { lockCurrent, putObjectRow } from "./object-rows.js";
import type { PgDatabase, Queryable } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";
import { TRASH_NOW } from "./trash.js";

type UploadRow = Rows.MultipartUploadRow<Date>;
type PartRow = Rows.PartRow<Date>;
const { toUpload, fromUpload, toPart, fromPart } = postgresRows;

const UPSERT_PART = `${pgInsert(MULTIPART_PARTS)} ON CONFLICT (upload_id, number) DO UPDATE SET
  write_id = EXCLUDED.write_id, size = EXCLUDED.size, sealed_info = EXCLUDED.sealed_info,
  created = EXCLUDED.created`;

// Parts are trashed due at once: nobody ever read them (a part becomes readable only when its
// upload completes with it, and then it is not trashed with the upload).

/** Trashes the part writes $1. */
const TRASH_PART_WRITES = `INSERT INTO trash (write_id, trashed_at)
  SELECT w, '-infinity' FROM unnest($1::bytea[]) AS t(w)
  ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'`;
/** Trashes every part of upload $1. */
const TRASH_UPLOAD_PARTS = `INSERT INTO trash (write_id, trashed_at)
  SELECT write_id, '-infinity' FROM multipart_parts WHERE upload_id = $1
  ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'`;

/** Locks the upload's row against every other change of it; its owner, object id and write id, or undefined. */
async function lockUpload(q: Queryable, uploadId: string) {
  const [up] = await q.query<{ owner: string; id: string; write_id: Buffer }>(
    "SELECT owner, id, write_id FROM multipart_uploads WHERE upload_id = $1 FOR UPDATE",
    [uploadId],
  );
  return up;
}

export class PostgresMultipartStore implements MultipartStore {
  readonly #db: PgDatabase;
  readonly #liveness: Liveness;

  constructor(db: PgDatabase, liveness: Liveness) {
    this.#db = db;
    this.#liveness = liveness;
  }

  async createMultipart(upload: MultipartUploadRecord): Promise<void> {
    try {
      await this.#db.query(
        pgInsert(MULTIPART_UPLOADS),
        valuesOf(MULTIPART_UPLOADS.names, fromUpload(upload)),
      );
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the owner does not exist");
      if (isConstraint(err, "unique"))
        throw new AppError("conflict", "an upload with this id or write id exists");
      throw err;
    }
  }

  async getMultipart(uploadId: string): Promise<MultipartUploadRecord | null> {
    const [row] = await this.#db.query<UploadRow>(
      `SELECT ${MULTIPART_UPLOADS.list} FROM multipart_uploads WHERE upload_id = $1`,
      [uploadId],
    );
    return row ? toUpload(row) : null;
  }

  async listMultipart(owner: string, opts: UploadListOptions): Promise<MultipartUploadRecord[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const values: unknown[] = [owner, opts.prefix, opts.prefix + ID_HIGH, limit];
    let after = "";
    if (opts.after) {
      values.push(opts.after.id, opts.after.uploadId);
      after = "AND (id, upload_id) > ($5, $6)";
    }
    const rows = await this.#db.query<UploadRow>(
      `SELECT ${MULTIPART_UPLOADS.list} FROM multipart_uploads
       WHERE owner = $1 AND id >= $2 AND id < $3 ${after}
       ORDER BY id, upload_id LIMIT $4`,
      values,
    );
    return rows.map(toUpload);
  }

  async commitPart(part: PartRecord): Promise<void> {
    await this.#db.tx("durable", async (q) => {
      if (!(await lockUpload(q, part.uploadId))) throw uploadMissing();
      // A part write swept meanwhile has lost its segments: it must not become a part.
      const reg = await q.query("SELECT 1 FROM uploads WHERE write_id = $1 FOR UPDATE", [part.writeId]);
      if (reg.length === 0) throw new AppError("conflict", "the part's upload no longer exists");
      const [old] = await q.query<{ write_id: Buffer }>(
        "SELECT write_id FROM multipart_parts WHERE upload_id = $1 AND number = $2",
        [part.uploadId, part.number],
      );
      await q.query(UPSERT_PART, valuesOf(MULTIPART_PARTS.names, fromPart(part)));
      if (old && !old.write_id.equals(part.writeId)) await q.query(TRASH_NOW, [old.write_id]);
      await q.query("DELETE FROM uploads WHERE write_id = $1", [part.writeId]);
    });
    this.#liveness.uploadEnded(part.writeId);
  }

  async listParts(uploadId: string, after: number, limit: number): Promise<PartRecord[]> {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    const rows = await this.#db.query<PartRow>(
      `SELECT ${MULTIPART_PARTS.list} FROM multipart_parts WHERE upload_id = $1 AND number > $2
       ORDER BY number LIMIT $3`,
      [uploadId, after, n],
    );
    return rows.map(toPart);
  }

  async completeMultipart(
    uploadId: string,
    meta: ObjectMeta,
    parts: readonly { number: number; writeId: Buffer }[],
    manifest: Buffer,
    cond: WriteCondition,
  ): Promise<CommitResult> {
    checkPartList(parts);
    return this.#db.tx("durable", async (q) => {
      const up = await lockUpload(q, uploadId);
      await lockCurrent(q, meta.owner, meta.id, cond);
      checkUploadFor(up, meta);
      const current = await q.query<{ number: number; write_id: Buffer }>(
        "SELECT number, write_id FROM multipart_parts WHERE upload_id = $1",
        [uploadId],
      );
      const unused = unnamedParts(current, parts);
      const result = await putObjectRow(q, meta, cond);
      await q.query(
        `INSERT INTO object_parts (write_id, number, part_write_id)
         SELECT $1, n, w FROM unnest($2::integer[], $3::bytea[]) AS p(n, w)`,
        [meta.writeId, parts.map((p) => p.number), parts.map((p) => p.writeId)],
      );
      await q.query("INSERT INTO manifests (write_id, sealed) VALUES ($1, $2)", [meta.writeId, manifest]);
      if (unused.length > 0) await q.query(TRASH_PART_WRITES, [unused]);
      // Its parts go by ON DELETE CASCADE.
      await q.query("DELETE FROM multipart_uploads WHERE upload_id = $1", [uploadId]);
      return result;
    });
  }

  async getManifest(writeId: Buffer): Promise<Buffer | null> {
    const [row] = await this.#db.query<{ sealed: Buffer }>(
      "SELECT sealed FROM manifests WHERE write_id = $1",
      [writeId],
    );
    return row?.sealed ?? null;
  }

  async abortMultipart(uploadId: string): Promise<boolean> {
    return this.#db.tx("durable", async (q) => {
      if (!(await lockUpload(q, uploadId))) return false;
      await q.query(TRASH_UPLOAD_PARTS, [uploadId]);
      // Its parts go by ON DELETE CASCADE.
      await q.query("DELETE FROM multipart_uploads WHERE upload_id = $1", [uploadId]);
      return true;
    });
  }

  async expiredMultipart(before: Date, limit: number): Promise<string[]> {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    const rows = await this.#db.query<{ upload_id: string }>(
      "SELECT upload_id FROM multipart_uploads WHERE created < $1 ORDER BY created, upload_id LIMIT $2",
      [before, n],
    );
    return rows.map((r) => r.upload_id);
  }
}
