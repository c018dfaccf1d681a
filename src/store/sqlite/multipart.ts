// The MultipartStore on objects.db: uploads in progress and their parts, and the completion that
// turns one into an object in one transaction. Part writes stream in through the ObjectStore's
// uploads (objects.ts), into blobs when it has them; commitPart makes the part's blob durable and
// ends its registration, so the two ports share the live set and the blob store.
import { AppError } from "../../errors.js";
import type { BlobStore } from "../blob-store.js";
import { ID_HIGH } from "../id-order.js";
import { checkPartList, checkUploadFor, unnamedParts, uploadMissing } from "../multipart-rules.js";
import type { MultipartStore, UploadListOptions } from "../multipart-store.js";
import type { CommitResult, WriteCondition } from "../object-store.js";
import type { MultipartUploadRecord, ObjectMeta, PartRecord } from "../records.js";
import { sqliteRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { MULTIPART_PARTS, MULTIPART_UPLOADS, sqliteInsert } from "../rows.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";
import { ObjectRows } from "./object-rows.js";
import type { LiveUploads } from "./objects.js";

type UploadRow = Rows.MultipartUploadRow<number>;
type PartRow = Rows.PartRow<number>;
const { toUpload, fromUpload, toPart, fromPart } = sqliteRows;
const hex = (b: Buffer) => b.toString("hex");

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  const list = (after: string) =>
    p(
      `SELECT ${MULTIPART_UPLOADS.list} FROM multipart_uploads INDEXED BY multipart_uploads_list
       WHERE owner = @owner AND id >= @lo AND id < @hi ${after}
       ORDER BY id, upload_id LIMIT @limit`,
    );
  return {
    insertUpload: p(sqliteInsert(MULTIPART_UPLOADS)),
    getUpload: p(`SELECT ${MULTIPART_UPLOADS.list} FROM multipart_uploads WHERE upload_id = ?`),
    list: list(""),
    listAfter: list("AND (id, upload_id) > (@afterId, @afterUpload)"),
    deleteUpload: p("DELETE FROM multipart_uploads WHERE upload_id = ?"),
    expired: p(
      "SELECT upload_id FROM multipart_uploads WHERE created < ? ORDER BY created, upload_id LIMIT ?",
    ).pluck(),

    currentPart: p("SELECT write_id FROM multipart_parts WHERE upload_id = ? AND number = ?").pluck(),
    putPart: p(
      `${sqliteInsert(MULTIPART_PARTS)} ON CONFLICT (upload_id, number) DO UPDATE SET
         write_id = excluded.write_id, size = excluded.size, sealed_info = excluded.sealed_info,
         created = excluded.created`,
    ),
    partWrites: p("SELECT number, write_id FROM multipart_parts WHERE upload_id = ?"),
    listParts: p(
      `SELECT ${MULTIPART_PARTS.list} FROM multipart_parts WHERE upload_id = ? AND number > ?
       ORDER BY number LIMIT ?`,
    ),

    partUploadExists: p("SELECT 1 FROM uploads WHERE write_id = ?").pluck(),
    endPartUpload: p("DELETE FROM uploads WHERE write_id = ?"),

    insertObjectPart: p("INSERT INTO object_parts (write_id, number, part_write_id) VALUES (?, ?, ?)"),
    insertManifest: p("INSERT INTO manifests (write_id, sealed) VALUES (?, ?)"),
    getManifest: p("SELECT sealed FROM manifests WHERE write_id = ?").pluck(),
  };
}

export class SqliteMultipartStore implements MultipartStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;
  readonly #rows: ObjectRows;
  readonly #live: LiveUploads;
  readonly #blobs: BlobStore | null;

  constructor(db: SqliteDatabase, live: LiveUploads, blobs: BlobStore | null = null) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#rows = new ObjectRows(db);
    this.#live = live;
    this.#blobs = blobs;
  }

  async createMultipart(upload: MultipartUploadRecord): Promise<void> {
    try {
      await this.#db.grouped(() => this.#s.insertUpload.run(fromUpload(upload)));
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the owner does not exist");
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE"))
        throw new AppError("conflict", "an upload with this id or write id exists");
      throw err;
    }
  }

  async getMultipart(uploadId: string): Promise<MultipartUploadRecord | null> {
    const row = this.#db.guard(() => this.#s.getUpload.get(uploadId)) as UploadRow | undefined;
    return row ? toUpload(row) : null;
  }

  async listMultipart(owner: string, opts: UploadListOptions): Promise<MultipartUploadRecord[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return [];
    const range = { owner, lo: opts.prefix, hi: opts.prefix + ID_HIGH, limit };
    const rows = this.#db.guard(() =>
      opts.after
        ? this.#s.listAfter.all({ ...range, afterId: opts.after.id, afterUpload: opts.after.uploadId })
        : this.#s.list.all(range),
    ) as UploadRow[];
    return rows.map(toUpload);
  }

  async commitPart(part: PartRecord): Promise<void> {
    const s = this.#s;
    // The part's blob is durable before the row that names it (a part is never inline).
    await this.#blobs?.seal(part.writeId);
    await this.#db.grouped(() => {
      if (s.getUpload.get(part.uploadId) === undefined) throw uploadMissing();
      // A part write swept meanwhile has lost its segments: it must not become a part.
      if (s.partUploadExists.get(part.writeId) === undefined)
        throw new AppError("conflict", "the part's upload no longer exists");
      const old = s.currentPart.get(part.uploadId, part.number) as Buffer | undefined;
      s.putPart.run(fromPart(part));
      if (old && !old.equals(part.writeId)) this.#rows.trash(old);
      s.endPartUpload.run(part.writeId);
    });
    this.#live.delete(hex(part.writeId));
  }

  async listParts(uploadId: string, after: number, limit: number): Promise<PartRecord[]> {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    const rows = this.#db.guard(() => this.#s.listParts.all(uploadId, after, n)) as PartRow[];
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
    const s = this.#s;
    return this.#db.grouped(() => {
      const cur = this.#rows.check(meta.owner, meta.id, cond);
      checkUploadFor(s.getUpload.get(uploadId) as UploadRow | undefined, meta);
      const unused = unnamedParts(
        s.partWrites.all(uploadId) as { number: number; write_id: Buffer }[],
        parts,
      );
      const result = this.#rows.put(meta, cur);
      for (const p of parts) s.insertObjectPart.run(meta.writeId, p.number, p.writeId);
      s.insertManifest.run(meta.writeId, manifest);
      // The parts not named never became readable; they go to the reclaimer.
      for (const w of unused) this.#rows.trash(w);
      s.deleteUpload.run(uploadId);
      return result;
    });
  }

  async getManifest(writeId: Buffer): Promise<Buffer | null> {
    const sealed = this.#db.guard(() => this.#s.getManifest.get(writeId)) as Buffer | undefined;
    return sealed ?? null;
  }

  async abortMultipart(uploadId: string): Promise<boolean> {
    const s = this.#s;
    return this.#db.grouped(() => {
      if (s.getUpload.get(uploadId) === undefined) return false;
      for (const r of s.partWrites.all(uploadId) as { write_id: Buffer }[]) this.#rows.trash(r.write_id);
      // Its parts go by ON DELETE CASCADE.
      s.deleteUpload.run(uploadId);
      return true;
    });
  }

  async expiredMultipart(before: Date, limit: number): Promise<string[]> {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    return this.#db.guard(() => this.#s.expired.all(before.getTime(), n)) as string[];
  }
}
