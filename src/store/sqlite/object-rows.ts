// Pointing (owner, id) at a new write inside a commit transaction on objects.db: the rule that
// commitObject and completeMultipart share (the write condition, the first version's `created`, the
// replaced write handed to the reclaimer), and the trash itself.
import type { Statement } from "better-sqlite3";
import type { CommitResult, WriteCondition } from "../object-store.js";
import type { ObjectMeta } from "../records.js";
import { sqliteRows } from "../row-mapping.js";
import { OBJECTS_REPLACED, OBJECTS_WRITTEN, sqliteInsert } from "../rows.js";
import { checkCondition } from "../write-condition.js";
import type { SqliteDatabase } from "./database.js";

/** The object a write finds at its (owner, id). */
export interface CurrentObject {
  etag: string;
  write_id: Buffer;
  created: number;
}

export class ObjectRows {
  readonly #current: Statement;
  readonly #insert: Statement;
  readonly #replace: Statement;
  readonly #trash: Statement;

  constructor(db: SqliteDatabase) {
    this.#current = db.prepare("SELECT etag, write_id, created FROM objects WHERE owner = ? AND id = ?");
    this.#insert = db.prepare(sqliteInsert(OBJECTS_WRITTEN));
    // `created` is left alone: it stays the first version's.
    this.#replace = db.prepare(
      `UPDATE objects SET ${OBJECTS_REPLACED.names.map((c) => `${c} = @${c}`).join(", ")}
       WHERE owner = @owner AND id = @id`,
    );
    this.#trash = db.prepare("INSERT OR IGNORE INTO trash (write_id, trashed_at) VALUES (?, ?)");
  }

  /** In a transaction: the current object of (owner, id), once `cond` holds for it (else precondition_failed). */
  check(owner: string, id: string, cond: WriteCondition): CurrentObject | undefined {
    const cur = this.#current.get(owner, id) as CurrentObject | undefined;
    checkCondition(cur, cond);
    return cur;
  }

  /** In a transaction, after `check`: points (owner, id) at `meta` and trashes the write it replaces. */
  put(meta: ObjectMeta, cur: CurrentObject | undefined): CommitResult {
    const row = sqliteRows.fromMeta(meta);
    if (!cur) {
      this.#insert.run(row);
      return { created: true, createdAt: meta.created };
    }
    this.#replace.run(row);
    // Readers may still be streaming the old write: the reclaimer deletes it once they are done.
    if (!cur.write_id.equals(meta.writeId)) this.trash(cur.write_id);
    return { created: false, createdAt: new Date(cur.created) };
  }

  /** In a transaction: hands a write to the reclaimer (ObjectStore.reclaim). */
  trash(writeId: Buffer): void {
    this.#trash.run(writeId, Date.now());
  }
}
