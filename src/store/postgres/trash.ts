// The trash on PostgreSQL: writes replaced, deleted or abandoned, whose segments are purged a batch
// at a time once no reader needs them, in this process (its busy set) or in another (their read
// pins, liveness.ts), and not before the grace period that lets other processes pin them. A
// multipart object's write takes its parts' segments, its parts and its manifest with it: its
// readers hold (and pin) the object's write id, never a part's.
import { interval, type Liveness } from "./liveness.js";
import type { PgDatabase } from "./pg-database.js";

/** Segments deleted per statement when purging a write (~16 MiB). */
const PURGE_BATCH = 256;
/** Trashed writes looked at per reclaim pass. */
const RECLAIM_PAGE = 1000;

/** Trashes write $1 for the reclaimer, due after the grace period (unless it is trashed already). */
export const TRASH =
  "INSERT INTO trash (write_id, trashed_at) VALUES ($1, now()) ON CONFLICT (write_id) DO NOTHING";
/** Trashes write $1 due at once: nobody may read it any more (an upload that never committed). */
export const TRASH_NOW = `INSERT INTO trash (write_id, trashed_at) VALUES ($1, '-infinity')
  ON CONFLICT (write_id) DO UPDATE SET trashed_at = '-infinity'`;

const hex = (b: Buffer) => b.toString("hex");

export class Trash {
  readonly #db: PgDatabase;
  readonly #liveness: Liveness;

  constructor(db: PgDatabase, liveness: Liveness) {
    this.#db = db;
    this.#liveness = liveness;
  }

  /** Purges writes already trashed as due at once, then drops their trash rows; returns how many. */
  async purgeNow(writes: Buffer[]): Promise<number> {
    let n = 0;
    for (const w of writes) {
      if (!(await this.#reclaimWrite(w))) break;
      n++;
    }
    return n;
  }

  /** Purges the due writes that neither `busy` (this process's readers) nor another process's pins hold. */
  async reclaim(busy: ReadonlySet<string>): Promise<number> {
    await this.#liveness.reading(busy);
    // Our own pins do not hold us back: `busy` is the exact, live picture of this process's readers.
    const due = await this.#db.query<{ write_id: Buffer }>(
      `SELECT t.write_id FROM trash t
       WHERE t.trashed_at <= now() - $1::interval
         AND NOT EXISTS (SELECT 1 FROM read_pins p
                         WHERE p.write_id = t.write_id AND p.reader <> $2 AND p.pinned_until > now())
       ORDER BY t.trashed_at LIMIT $3`,
      [interval(this.#liveness.graceMs), this.#liveness.reader, RECLAIM_PAGE],
    );
    let n = 0;
    for (const { write_id: w } of due) {
      const key = hex(w);
      // `busy` is consulted before every batch: a reader may start on a write while we purge others.
      if (busy.has(key)) continue;
      if (!(await this.#reclaimWrite(w, () => !busy.has(key)))) continue;
      n++;
    }
    return n;
  }

  /** Deletes a write's segments a batch at a time; false if stopped early (close, or no longer wanted). */
  async #purge(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    for (;;) {
      if (this.#db.closed || !stillWanted()) return false;
      const rows = await this.#db.query(
        `DELETE FROM segments WHERE write_id = $1 AND idx IN
           (SELECT idx FROM segments WHERE write_id = $1 ORDER BY idx LIMIT $2)
         RETURNING 1`,
        [writeId, PURGE_BATCH],
      );
      if (rows.length < PURGE_BATCH) return true;
    }
  }

  /**
   * Purges a trashed write and takes it out of the trash: its segments, and for a multipart object
   * its parts' segments, its parts and its manifest. False if stopped early; a later pass resumes.
   */
  async #reclaimWrite(writeId: Buffer, stillWanted: () => boolean = () => true): Promise<boolean> {
    if (!(await this.#purge(writeId, stillWanted))) return false;
    const parts = await this.#db.query<{ w: Buffer }>(
      "SELECT part_write_id AS w FROM object_parts WHERE write_id = $1 ORDER BY number",
      [writeId],
    );
    for (const { w } of parts) if (!(await this.#purge(w, stillWanted))) return false;
    await this.#db.tx("relaxed", (q) =>
      q.query(
        `WITH parts AS (DELETE FROM object_parts WHERE write_id = $1),
              manifest AS (DELETE FROM manifests WHERE write_id = $1),
              pins AS (DELETE FROM read_pins WHERE write_id = $1)
         DELETE FROM trash WHERE write_id = $1`,
        [writeId],
      ),
    );
    return true;
  }
}
