// The ciphertext of writes on the embedded store: the segments of small writes as rows of objects.db
// (committed in the same transaction as their metadata), those of larger writes in a BlobStore
// (blob files beside objects.db), and what keeps the two honest: reads that look in objects.db first
// (data directories from before the blob layout), purges that take rows and file together, the
// backup hold, and the sweep of blob files that nothing names.
import { existsSync } from "node:fs";
import { setImmediate as nextTick } from "node:timers/promises";
import { IntegrityError } from "../../errors.js";
import type { BlobStore } from "../blob-store.js";
import type { SqliteDatabase } from "./database.js";

/** Segments deleted per transaction when purging a write (~16 MiB, a few ms). */
const PURGE_BATCH = 256;

/**
 * While this file exists in the data directory, replaced and deleted writes stay (docs/OPERATIONS.md,
 * "SQLite: online backup"): a snapshot of objects.db taken after it appeared finds every blob it
 * names in a copy of blobs/ made before it goes.
 */
export const BACKUP_HOLD_FILE = "backup-hold";

/** The orphan sweep lists every blob: at the first maintenance pass, then at most this often. */
const ORPHAN_SWEEP_INTERVAL_MS = 10 * 60_000;

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    insertSegment: p("INSERT INTO segments (write_id, idx, data) VALUES (?, ?, ?)"),
    readSegments: p(
      "SELECT data FROM segments WHERE write_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
    ).pluck(),
    purgeSegments: p(
      "DELETE FROM segments WHERE rowid IN (SELECT rowid FROM segments WHERE write_id = ? LIMIT ?)",
    ),
    // Whether anything still names a write (its blob is wanted): the orphan sweep's question.
    referenced: p(
      `SELECT EXISTS (SELECT 1 FROM objects WHERE write_id = @w)
           OR EXISTS (SELECT 1 FROM uploads WHERE write_id = @w)
           OR EXISTS (SELECT 1 FROM trash WHERE write_id = @w)
           OR EXISTS (SELECT 1 FROM multipart_parts WHERE write_id = @w)
           OR EXISTS (SELECT 1 FROM object_parts WHERE part_write_id = @w)`,
    ).pluck(),
  };
}

export class WriteData {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;
  readonly #blobs: BlobStore | null;
  readonly #backupHold: string | null;
  #orphanSweepAt = Number.NEGATIVE_INFINITY;

  /** `blobs`: null keeps every segment in objects.db. `backupHold`: the path of BACKUP_HOLD_FILE. */
  constructor(db: SqliteDatabase, blobs: BlobStore | null, backupHold: string | null) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#blobs = blobs;
    this.#backupHold = backupHold;
  }

  /** Whether a backup holds replaced writes (BACKUP_HOLD_FILE); checked before each one is purged. */
  backupHeld(): boolean {
    return this.#backupHold !== null && existsSync(this.#backupHold);
  }

  /** Stores streamed segments, once `check` (run on the database first) passes. */
  async append(writeId: Buffer, first: number, segments: Buffer[], check: () => void): Promise<void> {
    if (this.#blobs) {
      this.#db.guard(check);
      await this.#blobs.append(writeId, first, segments);
      return;
    }
    this.#db.relaxed(() => {
      check();
      for (const [i, seg] of segments.entries()) this.#s.insertSegment.run(writeId, first + i, seg);
    });
  }

  /** A small write's segments, inside the caller's commit transaction. */
  insertInline(writeId: Buffer, segments: Buffer[]): void {
    for (const [i, seg] of segments.entries()) this.#s.insertSegment.run(writeId, i, seg);
  }

  /** The streamed write's data and name made durable, before the row that names it is committed. */
  async seal(writeId: Buffer): Promise<void> {
    await this.#blobs?.seal(writeId);
  }

  async read(writeId: Buffer, first: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    // Inline writes, and every write of a data directory from before the blob layout, are here.
    const rows = this.#db.guard(() => this.#s.readSegments.all(writeId, first, first + count)) as Buffer[];
    if (rows.length > 0 || !this.#blobs) return rows;
    const fromBlob = await this.#blobs.read(writeId, first, count);
    if (fromBlob) return fromBlob;
    // No segment and no blob: a write replaced or deleted meanwhile is gone; one still named has lost its data.
    if (this.#named(writeId))
      throw new IntegrityError("the object's ciphertext is missing: its blob file is gone");
    return [];
  }

  /** Deletes a write's segments a batch at a time, then its blob; false if stopped early (close, or no longer wanted). */
  async purge(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    for (;;) {
      if (this.#db.closing || !stillWanted()) return false;
      const { changes } = this.#db.relaxed(() => this.#s.purgeSegments.run(writeId, PURGE_BATCH));
      if (changes < PURGE_BATCH) break;
      await nextTick();
    }
    await this.#blobs?.remove(writeId);
    return true;
  }

  /** Blob files that nothing names, counted (never removed here). */
  async orphaned(): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    if (!this.#blobs) return { count, bytes };
    for await (const w of this.#blobs.list()) {
      if (this.#named(w)) continue;
      const size = await this.#blobs.size(w);
      if (size === null) continue;
      count++;
      bytes += size;
    }
    return { count, bytes };
  }

  /**
   * Removes blobs that nothing names (at most every ORPHAN_SWEEP_INTERVAL_MS): left by a crash
   * between a blob's creation and its upload's row reaching the disk, or by a purge cut short. A
   * blob is created only after its upload's row, and its last row goes only after the blob is
   * removed, so any blob listed here that no row names is garbage, whichever process wrote it.
   * Returns how many went.
   */
  async sweepOrphans(): Promise<number> {
    if (!this.#blobs || Date.now() - this.#orphanSweepAt < ORPHAN_SWEEP_INTERVAL_MS) return 0;
    this.#orphanSweepAt = Date.now();
    let n = 0;
    for await (const w of this.#blobs.list()) {
      if (this.#db.closing) break;
      if (this.#named(w)) continue;
      await this.#blobs.remove(w);
      n++;
    }
    return n;
  }

  #named(writeId: Buffer): boolean {
    return this.#db.guard(() => this.#s.referenced.get({ w: writeId })) === 1;
  }
}
