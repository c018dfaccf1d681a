// The AuditStore on PostgreSQL, shared by every process: an append locks the head row, so the
// appends of all processes take turns and form one chain.
import { type ChainHead, EMPTY_HEAD, type SealedRecord } from "../../audit/record.js";
import type { AuditFilter, AuditStore } from "../audit-store.js";
import type { PgDatabase } from "./pg-database.js";

const COLUMNS = "seq, time, actor, action, owner, hash, body";

export class PostgresAuditStore implements AuditStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async append(
    seal: (head: ChainHead) => SealedRecord,
    opts: { relaxed?: boolean } = {},
  ): Promise<SealedRecord> {
    return this.#db.tx(opts.relaxed ? "relaxed" : "durable", async (q) => {
      const [head] = await q.query<ChainHead>("SELECT seq, hash FROM audit_head WHERE one FOR UPDATE");
      const rec = seal(head ?? EMPTY_HEAD);
      await q.query(`INSERT INTO audit_events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        rec.seq,
        rec.time,
        rec.actor,
        rec.action,
        rec.owner,
        rec.hash,
        rec.body,
      ]);
      await q.query("UPDATE audit_head SET seq = $1, hash = $2 WHERE one", [rec.seq, rec.hash]);
      return rec;
    });
  }

  async head(): Promise<ChainHead> {
    const [head] = await this.#db.query<ChainHead>("SELECT seq, hash FROM audit_head WHERE one");
    return head ?? EMPTY_HEAD;
  }

  async find(f: AuditFilter): Promise<SealedRecord[]> {
    const values: unknown[] = [f.afterSeq ?? 0];
    const where = ["seq > $1"];
    const add = (cond: (n: string) => string, v: unknown) => {
      values.push(v);
      where.push(cond(`$${values.length}`));
    };
    if (f.since !== undefined) add((n) => `time >= ${n}`, f.since);
    if (f.until !== undefined) add((n) => `time < ${n}`, f.until);
    if (f.actor !== undefined) add((n) => `actor = ${n}`, f.actor);
    if (f.owner !== undefined) add((n) => `owner = ${n}`, f.owner);
    if (f.involving !== undefined) add((n) => `(actor = ${n} OR owner = ${n})`, f.involving);
    if (f.action !== undefined)
      add((n) => (f.action!.endsWith(".") ? `left(action, length(${n})) = ${n}` : `action = ${n}`), f.action);
    values.push(f.limit);
    return this.#db.query<SealedRecord>(
      `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT $${values.length}`,
      values,
    );
  }

  async range(fromSeq: number, limit: number): Promise<SealedRecord[]> {
    return this.#db.query<SealedRecord>(
      `SELECT ${COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [fromSeq, limit],
    );
  }

  async hashOf(seq: number): Promise<string | null> {
    const [row] = await this.#db.query<{ hash: string }>("SELECT hash FROM audit_events WHERE seq = $1", [
      seq,
    ]);
    return row?.hash ?? null;
  }

  async pruneBefore(beforeSeq: number): Promise<number> {
    const rows = await this.#db.query("DELETE FROM audit_events WHERE seq < $1 RETURNING 1", [beforeSeq]);
    return rows.length;
  }
}
