// The AuditStore on objects.db. One process owns the file, and better-sqlite3 runs each append's
// read of the head, its insert and the head's update without yielding: appends cannot interleave.
import { type ChainHead, EMPTY_HEAD, type SealedRecord } from "../../audit/record.js";
import type { AuditFilter, AuditStore } from "../audit-store.js";
import type { SqliteDatabase } from "./database.js";

const COLUMNS = "seq, time, actor, action, owner, hash, body";

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    head: p("SELECT seq, hash FROM audit_head WHERE one = 1"),
    insert: p(
      `INSERT INTO audit_events (${COLUMNS}) VALUES (@seq, @time, @actor, @action, @owner, @hash, @body)`,
    ),
    setHead: p("UPDATE audit_head SET seq = ?, hash = ? WHERE one = 1"),
    range: p(`SELECT ${COLUMNS} FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?`),
    hashOf: p("SELECT hash FROM audit_events WHERE seq = ?").pluck(),
    prune: p("DELETE FROM audit_events WHERE seq < ?"),
  };
}

export class SqliteAuditStore implements AuditStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#s = prepareStatements(db);
  }

  #appendNow(seal: (head: ChainHead) => SealedRecord): SealedRecord {
    const head = (this.#s.head.get() as ChainHead | undefined) ?? EMPTY_HEAD;
    const rec = seal(head);
    this.#s.insert.run(rec);
    this.#s.setHead.run(rec.seq, rec.hash);
    return rec;
  }

  async append(
    seal: (head: ChainHead) => SealedRecord,
    opts: { relaxed?: boolean } = {},
  ): Promise<SealedRecord> {
    if (opts.relaxed) return this.#db.relaxed(() => this.#appendNow(seal));
    return this.#db.grouped(() => this.#appendNow(seal));
  }

  async head(): Promise<ChainHead> {
    return this.#db.guard(() => (this.#s.head.get() as ChainHead | undefined) ?? EMPTY_HEAD);
  }

  async find(f: AuditFilter): Promise<SealedRecord[]> {
    const where: string[] = ["seq > @afterSeq"];
    if (f.since !== undefined) where.push("time >= @since");
    if (f.until !== undefined) where.push("time < @until");
    if (f.actor !== undefined) where.push("actor = @actor");
    if (f.owner !== undefined) where.push("owner = @owner");
    if (f.involving !== undefined) where.push("(actor = @involving OR owner = @involving)");
    if (f.action !== undefined)
      where.push(
        f.action.endsWith(".") ? "substr(action, 1, length(@action)) = @action" : "action = @action",
      );
    const sql = `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT @limit`;
    return this.#db.guard(() =>
      this.#db.prepare(sql).all({
        afterSeq: f.afterSeq ?? 0,
        since: f.since,
        until: f.until,
        actor: f.actor,
        owner: f.owner,
        involving: f.involving,
        action: f.action,
        limit: f.limit,
      }),
    ) as SealedRecord[];
  }

  async range(fromSeq: number, limit: number): Promise<SealedRecord[]> {
    return this.#db.guard(() => this.#s.range.all(fromSeq, limit)) as SealedRecord[];
  }

  async hashOf(seq: number): Promise<string | null> {
    return (this.#db.guard(() => this.#s.hashOf.get(seq)) as string | undefined) ?? null;
  }

  async pruneBefore(beforeSeq: number): Promise<number> {
    return this.#db.durable(() => this.#s.prune.run(beforeSeq).changes);
  }
}
