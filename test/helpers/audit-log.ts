// The audit log from a test's side, the same for SQLite and PostgreSQL: the offline `ssestore audit
// verify`, the stored records read (and changed, as someone with write access to the database would)
// straight from the store, and the raw stored text that must hold no secret.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { expect } from "vitest";
import { parseBody, type RecordBody } from "../../src/audit/record.js";
import type { StoredRecord, VerifyResult } from "../../src/audit/verify.js";
import { call } from "./api-client.js";
import { createTestDatabase } from "./postgres.js";
import { ROOT } from "./server-process.js";

const run = promisify(execFile);

/** Where a stopped (or running) server keeps its log: a data dir's objects.db, or PostgreSQL. */
export type AuditLocation = { dataDir: string } | { databaseUrl: string };

export interface VerifyRun {
  code: number;
  /** The --json result; absent when the command failed before checking (a bad checkpoint file). */
  result?: VerifyResult;
  out: string;
}

/** `ssestore audit verify --json`, offline, as an auditor runs it. */
export async function auditVerify(
  where: AuditLocation,
  publicKeyFile: string,
  checkpoints?: string,
): Promise<VerifyRun> {
  const args = ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "--json", "audit", "verify"];
  if ("dataDir" in where) args.push("--data-dir", where.dataDir);
  else args.push("--database-url", where.databaseUrl);
  args.push("--public-key", publicKeyFile);
  if (checkpoints) args.push("--checkpoints", checkpoints);
  let code = 0;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, args, { cwd: ROOT }));
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    ({ code, stdout, stderr } = e);
  }
  const line = stdout.trim().split("\n").at(-1);
  let result: VerifyResult | undefined;
  try {
    result = line ? (JSON.parse(line) as VerifyResult) : undefined;
  } catch {
    result = undefined;
  }
  return { code, ...(result ? { result } : {}), out: stdout + stderr };
}

/** Fetches GET /admin/audit/public-key into `file`, as step 1 of the auditor's walk-through. */
export async function savePublicKey(server: { url: string; token: string }, file: string): Promise<void> {
  const r = await call(server, "GET", "/admin/audit/public-key", server.token);
  expect(r.status, r.text).toBe(200);
  writeFileSync(file, r.json.publicKey);
}

/** The stored log, read and changed behind the server's back (stop the server first). */
export interface StoredAudit {
  /** Every record, ascending. */
  rows(): Promise<StoredRecord[]>;
  /** SQL that SQLite and PostgreSQL both run alike (on the table audit_events). */
  exec(sql: string): Promise<void>;
  /** Overwrites the body and hash of the records with these sequence numbers. */
  overwrite(records: readonly StoredRecord[]): Promise<void>;
  /** Every column of every record as text: what a grep of the stored log would see. */
  rawText(): Promise<string>;
  /** From now on every append fails, as a broken store's would (a running server included). */
  failAppends(): Promise<void>;
  /** Undoes failAppends. */
  repairAppends(): Promise<void>;
  close(): Promise<void>;
}

export function sqliteAudit(dataDir: string): StoredAudit {
  const file = path.join(dataDir, "objects.db");
  // A connection per call: closing the last one folds the WAL back, so the verifier sees one file.
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(file, { fileMustExist: true, timeout: 5000 });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    rows: async () =>
      withDb(
        (db) => db.prepare("SELECT seq, hash, body FROM audit_events ORDER BY seq").all() as StoredRecord[],
      ),
    exec: async (sql) => withDb((db) => void db.exec(sql)),
    overwrite: async (records) =>
      withDb((db) => {
        const set = db.prepare("UPDATE audit_events SET hash = ?, body = ? WHERE seq = ?");
        db.transaction(() => {
          for (const r of records) expect(set.run(r.hash, r.body, r.seq).changes).toBe(1);
        })();
      }),
    // The database file and its WAL (recent pages live there while a server has it open).
    rawText: async () =>
      ["objects.db", "objects.db-wal"]
        .map((f) => path.join(dataDir, f))
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f).toString("latin1"))
        .join("\n"),
    failAppends: async () =>
      withDb(
        (db) =>
          void db.exec(
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(FAIL, 'audit store broken'); END",
          ),
      ),
    repairAppends: async () => withDb((db) => void db.exec("DROP TRIGGER audit_broken")),
    close: async () => undefined,
  };
}

export async function postgresAudit(databaseUrl: string): Promise<StoredAudit> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => undefined);
  await client.connect();
  await client.query("SET search_path TO sse_objects");
  return {
    rows: async () =>
      (await client.query<StoredRecord>("SELECT seq, hash, body FROM audit_events ORDER BY seq")).rows.map(
        (r) => ({ ...r, seq: Number(r.seq) }),
      ),
    exec: async (sql) => void (await client.query(sql)),
    overwrite: async (records) => {
      await client.query("BEGIN");
      for (const r of records) {
        const res = await client.query("UPDATE audit_events SET hash = $1, body = $2 WHERE seq = $3", [
          r.hash,
          r.body,
          r.seq,
        ]);
        expect(res.rowCount).toBe(1);
      }
      await client.query("COMMIT");
    },
    rawText: async () =>
      (await client.query<{ row: string }>("SELECT t::text AS row FROM audit_events t ORDER BY seq")).rows
        .map((r) => r.row)
        .join("\n"),
    failAppends: async () =>
      void (await client.query(`
        CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'audit store broken'; END $$;
        CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_broken();
      `)),
    repairAppends: async () =>
      void (await client.query("DROP TRIGGER audit_broken ON audit_events; DROP FUNCTION audit_broken()")),
    close: () => client.end(),
  };
}

/** The parsed bodies of stored records. */
export function bodiesOf(rows: readonly StoredRecord[]): RecordBody[] {
  return rows.map((r) => {
    const b = parseBody(r.body);
    expect(b, `record ${r.seq} parses`).not.toBeNull();
    return b!;
  });
}

/** Sequence numbers 1, 2, 3… without a gap or a repeat. */
export function expectGapless(rows: readonly StoredRecord[]): void {
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
}

/**
 * What an acknowledged action must have left in the chain: its intent and its outcome, with the
 * status the client received, under the request id the client saw. Returns what is missing.
 */
export function missingEvents(
  bodies: readonly RecordBody[],
  acked: readonly { requestId: string; status: number }[],
): string[] {
  const byRequest = new Map<string, RecordBody[]>();
  for (const b of bodies)
    if (b.kind === "event" && b.requestId)
      byRequest.set(b.requestId, [...(byRequest.get(b.requestId) ?? []), b]);
  const missing: string[] = [];
  for (const a of acked) {
    const got = byRequest.get(a.requestId) ?? [];
    if (!got.some((b) => b.outcome === "ok" && b.status === a.status))
      missing.push(
        `${a.requestId}: no outcome ok/${a.status} (has ${got.map((b) => b.outcome).join(",") || "nothing"})`,
      );
  }
  return missing;
}

/** A store for a test's servers: a data dir of its own, and on PostgreSQL a fresh database too. */
export interface LogStore {
  kind: "sqlite" | "postgres";
  /** The servers' data dir (on PostgreSQL it holds only the root key, which every process shares). */
  dataDir: string;
  /** The servers' settings that name the store. */
  env: Record<string, string>;
  where: AuditLocation;
  open(): Promise<StoredAudit>;
  drop(): Promise<void>;
}

export async function newLogStore(kind: LogStore["kind"], dir: string): Promise<LogStore> {
  const dataDir = path.join(dir, "data");
  if (kind === "sqlite")
    return {
      kind,
      dataDir,
      env: {},
      where: { dataDir },
      open: async () => sqliteAudit(dataDir),
      drop: async () => undefined,
    };
  const db = await createTestDatabase();
  return {
    kind,
    dataDir,
    env: { SSE_DATABASE_URL: db.url },
    where: { databaseUrl: db.url },
    open: () => postgresAudit(db.url),
    drop: () => db.drop(),
  };
}
