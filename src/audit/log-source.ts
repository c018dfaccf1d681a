// Reading a stored audit log without a server, for `ssestore audit verify|export|prune`: the
// objects database of a data directory (read-only unless pruning), or PostgreSQL's sse_objects.
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import type { SealedRecord } from "./record.js";

const COLUMNS = "seq, time, actor, action, owner, hash, body";
const PAGE = 1000;

export interface LogSource {
  /** Records from `fromSeq` on, ascending, a page at a time. */
  range(fromSeq: number, limit: number): Promise<SealedRecord[]>;
  hashOf(seq: number): Promise<string | null>;
  /** Deletes the records before `beforeSeq`; returns how many. */
  pruneBefore(beforeSeq: number): Promise<number>;
  close(): Promise<void>;
}

export async function openLogSource(
  where: { dataDir?: string; databaseUrl?: string },
  opts: { write?: boolean } = {},
): Promise<LogSource> {
  if (where.databaseUrl) {
    const client = new pg.Client({ connectionString: where.databaseUrl });
    await client.connect();
    const schema = "sse_objects";
    const q = async <R extends object>(sql: string, values: unknown[]) =>
      (await client.query<R>(sql.replaceAll("audit_events", `${schema}.audit_events`), values)).rows;
    return {
      range: async (from, limit) =>
        (
          await q<SealedRecord>(`SELECT ${COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [
            from,
            limit,
          ])
        ).map((r) => ({ ...r, seq: Number(r.seq), time: Number(r.time) })),
      hashOf: async (seq) =>
        (await q<{ hash: string }>("SELECT hash FROM audit_events WHERE seq = $1", [seq]))[0]?.hash ?? null,
      pruneBefore: async (before) =>
        (await q("DELETE FROM audit_events WHERE seq < $1 RETURNING 1", [before])).length,
      close: () => client.end(),
    };
  }
  if (!where.dataDir) throw new Error("name the log: --data-dir DIR or --database-url URL");
  const db = new Database(path.join(where.dataDir, "objects.db"), {
    readonly: !opts.write,
    fileMustExist: true,
  });
  const range = db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?`);
  const hashOf = db.prepare("SELECT hash FROM audit_events WHERE seq = ?").pluck();
  return {
    range: async (from, limit) => range.all(from, limit) as SealedRecord[],
    hashOf: async (seq) => (hashOf.get(seq) as string | undefined) ?? null,
    pruneBefore: async (before) => db.prepare("DELETE FROM audit_events WHERE seq < ?").run(before).changes,
    close: async () => {
      db.close();
    },
  };
}

/** Every record, ascending, a page at a time. */
export async function* allRecords(src: LogSource, fromSeq = 0): AsyncGenerator<SealedRecord> {
  let next = fromSeq;
  for (;;) {
    const page = await src.range(next, PAGE);
    for (const r of page) yield r;
    if (page.length < PAGE) return;
    next = page.at(-1)!.seq + 1;
  }
}
