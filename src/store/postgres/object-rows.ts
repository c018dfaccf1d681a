// Pointing (owner, id) at a new write inside a commit transaction on PostgreSQL: the rule that
// commitObject and completeMultipart share (the write condition under a row lock, the first
// version's `created`, the replaced write handed to the reclaimer, a racing creator of the id).
import { AppError } from "../../errors.js";
import type { CommitResult, WriteCondition } from "../object-store.js";
import type { ObjectMeta } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import { OBJECTS_REPLACED, OBJECTS_WRITTEN, pgInsert, valuesOf } from "../rows.js";
import { checkCondition } from "../write-condition.js";
import type { Queryable } from "./pg-database.js";
import { TRASH } from "./trash.js";

/** Inserts an object row from valuesOf(OBJECTS_WRITTEN.names, …), doing nothing when the id is taken. */
export const INSERT_OBJECT = `${pgInsert(OBJECTS_WRITTEN)} ON CONFLICT (owner, id) DO NOTHING`;
/** Replaces an object's row: $1 owner, $2 id, then the values of OBJECTS_REPLACED.names. */
const REPLACE_OBJECT = `UPDATE objects SET ${OBJECTS_REPLACED.names.map((c, i) => `${c} = $${i + 3}`).join(", ")}
  WHERE owner = $1 AND id = $2`;

interface CurrentObject {
  etag: string;
  write_id: Buffer;
  created: Date;
}

/** In a transaction: the current object of (owner, id), locked, once `cond` holds for it (else precondition_failed). */
export async function lockCurrent(
  q: Queryable,
  owner: string,
  id: string,
  cond: WriteCondition,
): Promise<CurrentObject | undefined> {
  const [cur] = await q.query<CurrentObject>(
    "SELECT etag, write_id, created FROM objects WHERE owner = $1 AND id = $2 FOR UPDATE",
    [owner, id],
  );
  checkCondition(cur, cond);
  return cur;
}

/** In a transaction: checks `cond` and points (owner, id) at `meta`, trashing the write it replaces. */
export async function putObjectRow(
  q: Queryable,
  meta: ObjectMeta,
  cond: WriteCondition,
): Promise<CommitResult> {
  const row = postgresRows.fromMeta(meta);
  // Two rounds at most: an INSERT that finds a row created meanwhile re-reads and re-checks it.
  for (let round = 0; ; round++) {
    const cur = await lockCurrent(q, meta.owner, meta.id, cond);
    if (cur) {
      // `created` stays the first version's.
      await q.query(REPLACE_OBJECT, [meta.owner, meta.id, ...valuesOf(OBJECTS_REPLACED.names, row)]);
      // Readers may still be streaming the old write: the reclaimer deletes it once they are done.
      if (!cur.write_id.equals(meta.writeId)) await q.query(TRASH, [cur.write_id]);
      return { created: false, createdAt: cur.created };
    }
    const inserted = await q.query(`${INSERT_OBJECT} RETURNING 1`, valuesOf(OBJECTS_WRITTEN.names, row));
    if (inserted.length > 0) return { created: true, createdAt: meta.created };
    // Another process created the object since our SELECT: look again, under its lock.
    if (round > 0) throw new AppError("conflict", "the object is being written concurrently; retry");
  }
}
