// The sealed segments of a write as they lie on disk, wherever they lie: rows of objects.db's
// `segments` table (small writes, and data directories from before the blob layout) or a blob file
// under blobs/ (larger writes). Tamper tests read and rewrite them through this, so that each
// attack runs against the layout the write really has.
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { BLOB_HEADER_BYTES } from "../../src/store/files/blob-files.js";

export interface Segment {
  idx: number;
  data: Buffer;
}

export class StoredSegments {
  readonly db: Database.Database;
  readonly #dataDir: string;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.db = new Database(path.join(dataDir, "objects.db"));
    this.db.pragma("busy_timeout = 5000");
  }

  close(): void {
    this.db.close();
  }

  blobFile(writeId: Buffer): string {
    const name = writeId.toString("hex");
    return path.join(this.#dataDir, "blobs", name.slice(-2), name);
  }

  /** Whether the write's segments are in a blob file. */
  inBlob(writeId: Buffer): boolean {
    return existsSync(this.blobFile(writeId));
  }

  /** How many segments the write has stored (a cut-short last one counts). */
  count(writeId: Buffer): number {
    if (this.inBlob(writeId)) {
      const file = this.blobFile(writeId);
      const header = Buffer.alloc(BLOB_HEADER_BYTES);
      const fd = openSync(file, "r");
      try {
        readSync(fd, header, 0, BLOB_HEADER_BYTES, 0);
      } finally {
        closeSync(fd);
      }
      const stride = header.readUInt32BE(8);
      return stride === 0 ? 0 : Math.ceil(Math.max(0, statSync(file).size - BLOB_HEADER_BYTES) / stride);
    }
    return this.db.prepare("SELECT count(*) FROM segments WHERE write_id = ?").pluck().get(writeId) as number;
  }

  /** The segments in index order. */
  list(writeId: Buffer): Segment[] {
    if (this.inBlob(writeId)) {
      const file = readFileSync(this.blobFile(writeId));
      const stride = file.readUInt32BE(8);
      const out: Segment[] = [];
      for (let at = BLOB_HEADER_BYTES, i = 0; at < file.length; at += stride, i++)
        out.push({ idx: i, data: Buffer.from(file.subarray(at, Math.min(at + stride, file.length))) });
      return out;
    }
    return this.db
      .prepare("SELECT idx, data FROM segments WHERE write_id = ? ORDER BY idx")
      .all(writeId) as Segment[];
  }

  /**
   * Stores `segments` as the write's, in the layout it has (a blob file keeps its header; segments
   * lie back to back in the order given, so a gap in the indexes shifts what follows it).
   */
  replace(writeId: Buffer, segments: Segment[]): void {
    if (this.inBlob(writeId)) {
      const file = this.blobFile(writeId);
      const header = readFileSync(file).subarray(0, BLOB_HEADER_BYTES);
      writeFileSync(file, Buffer.concat([header, ...segments.map((s) => s.data)]));
      return;
    }
    this.db.prepare("DELETE FROM segments WHERE write_id = ?").run(writeId);
    const ins = this.db.prepare("INSERT INTO segments (write_id, idx, data) VALUES (?, ?, ?)");
    for (const s of segments) ins.run(writeId, s.idx, s.data);
  }

  /** Changes one segment's bytes. */
  update(writeId: Buffer, idx: number, f: (data: Buffer) => Buffer): void {
    this.replace(
      writeId,
      this.list(writeId).map((s) => (s.idx === idx ? { idx, data: f(Buffer.from(s.data)) } : s)),
    );
  }

  /** Deletes every segment of the write. */
  remove(writeId: Buffer): void {
    this.db.prepare("DELETE FROM segments WHERE write_id = ?").run(writeId);
    rmSync(this.blobFile(writeId), { force: true });
  }

  /**
   * Moves the segments of `from` to `to` (whose own must be gone). A blob's header is rewritten to
   * name `to`, as a careful attacker would: the AEAD must catch the move, not only the header check.
   */
  move(from: Buffer, to: Buffer): void {
    if (this.inBlob(from)) {
      const file = readFileSync(this.blobFile(from));
      to.copy(file, 12);
      writeFileSync(this.blobFile(from), file);
      renameSync(this.blobFile(from), this.blobFile(to));
      return;
    }
    this.db.prepare("UPDATE segments SET write_id = ? WHERE write_id = ?").run(to, from);
  }

  /** Copies the segments of `from` over those of `to`, in `to`'s layout. */
  copy(from: Buffer, to: Buffer): void {
    const segs = this.list(from);
    if (this.inBlob(from) && !this.inBlob(to)) {
      this.db.prepare("DELETE FROM segments WHERE write_id = ?").run(to);
      const header = readFileSync(this.blobFile(from)).subarray(0, BLOB_HEADER_BYTES);
      to.copy(header, 12);
      writeFileSync(this.blobFile(to), Buffer.concat([header, ...segs.map((s) => s.data)]));
      return;
    }
    this.replace(to, segs);
  }
}

/** Runs `f` on the segments of `dataDir`, closing the database after. */
export function withSegments<T>(dataDir: string, f: (s: StoredSegments) => T): T {
  const s = new StoredSegments(dataDir);
  try {
    return f(s);
  } finally {
    s.close();
  }
}
