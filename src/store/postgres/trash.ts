// The trash on PostgreSQL: writes replaced, deleted or abandoned, whose segments are purged a batch
// at a time once no reader needs them, in this process (its busy set) or in another (their read
// pins, liveness.ts), and not before the grace period that lets other processes pin them.
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
      if (!(await this.#purge(w))) break;
      await this.#untrash(w);
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
      if (!(await this.#purge(w, () => !busy.has(key)))) continue;
      await this.#untrash(w);
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

  async #untrash(writeId: Buffer): Promise<void> {
    await this.#db.tx("relaxed", async (q) => {
      await q.query("DELETE FROM read_pins WHERE write_id = $1", [writeId]);
      await q.query("DELETE FROM trash WHERE write_id = $1", [writeId]);
    });
  }
}
