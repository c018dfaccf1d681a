// Opening an SSE Store SQLite file: connection pragmas, the runner of versioned schema migrations,
// and the mapping of SQLite failures to StorageUnavailableError. Shared by the object store and the
// key store; their migrations are objects-schema.ts and keys-schema.ts.
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { DiskFullError, isNoSpaceErrno, StorageUnavailableError } from "../../errors.js";
import { SchemaVersionError } from "../schema-version-error.js";

export type Db = Database.Database;

export interface Migration {
  /** 1, 2, 3, … without gaps; applied once, in order, each in its own transaction. */
  version: number;
  name: string;
  up: string | ((db: Db) => void);
}

export interface Schema {
  /** Human name of the database in error messages ("objects", "keys"); never a path. */
  label: string;
  /** Stored in PRAGMA application_id so that objects.db and keys.db cannot be swapped by mistake. */
  applicationId: number;
  migrations: readonly Migration[];
}

export { SchemaVersionError };

export const BUSY_TIMEOUT_MS = 5000;

export interface OpenOptions {
  /** Only takes effect when the file is created; WAL mode fixes it afterwards. */
  pageSize: number;
  /** WAL size, in pages, at which a commit checkpoints into the main file. */
  walAutocheckpointPages: number;
  /** Overwrite deleted content (keys.db: destroyed keys must not linger in free pages). */
  secureDelete?: boolean;
  /** Page cache of this connection, in KiB (default: SQLite's own 2 MiB). */
  cacheKib?: number;
}

/** SQLite's stock page cache; better-sqlite3 builds with 16 MiB, which a large transfer fills at once. */
export const DEFAULT_CACHE_KIB = 2048;

/** Opens (creating if needed, mode 0600 in a 0700 directory) and migrates one database file. */
export function openDatabase(file: string, schema: Schema, opts: OpenOptions): Db {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const existed = existsSync(file);
  let db: Db | undefined;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    if (!existed && existsSync(file)) chmodSync(file, 0o600);
    db.pragma(`page_size = ${opts.pageSize}`);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`cannot switch the ${schema.label} database to WAL mode`);
    // FULL by default: every commit is durable unless a caller explicitly relaxes it.
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma(`wal_autocheckpoint = ${opts.walAutocheckpointPages}`);
    // After an oversized transaction the WAL file shrinks back instead of staying large.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    // Only matters on macOS, where fsync alone does not reach the platter.
    db.pragma("fullfsync = ON");
    db.pragma("checkpoint_fullfsync = ON");
    if (opts.secureDelete) db.pragma("secure_delete = ON");
    const cacheKib = opts.cacheKib ?? DEFAULT_CACHE_KIB;
    if (!Number.isSafeInteger(cacheKib) || cacheKib < 1)
      throw new RangeError(`bad page cache size ${cacheKib}`);
    // Negative: a size in KiB rather than a page count.
    db.pragma(`cache_size = -${cacheKib}`);
    migrate(db, schema);
    return db;
  } catch (err) {
    db?.close();
    throw storageFault(err) ?? err;
  }
}

/** Brings the schema up to date; refuses a database from a newer release or another schema. */
export function migrate(db: Db, schema: Schema): void {
  const { label, migrations } = schema;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${label} migrations must be numbered 1..n without gaps`);
  });
  const latest = migrations.length;

  const appId = db.pragma("application_id", { simple: true }) as number;
  if (appId !== 0 && appId !== schema.applicationId) {
    throw new SchemaVersionError(`this file is not an SSE Store ${label} database`);
  }
  const hasTable = (name: string) =>
    db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
  if (!hasTable("schema_migrations")) {
    const objects = db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() as number;
    if (objects > 0) throw new SchemaVersionError(`this file is not an SSE Store ${label} database`);
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
    );
  }
  const current = () =>
    (db.prepare("SELECT max(version) FROM schema_migrations").pluck().get() as number | null) ?? 0;

  const found = current();
  if (found > latest) {
    throw new SchemaVersionError(
      `the ${label} database has schema version ${found}, but this release only knows up to ${latest}; ` +
        "run a newer SSE Store or restore a backup made by this one",
    );
  }
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of migrations.slice(found)) {
    db.transaction(() => {
      // Another process may have applied it between our read and this write lock.
      if (current() >= m.version) return;
      if (typeof m.up === "string") db.exec(m.up);
      else m.up(db);
      record.run(m.version, m.name, Date.now());
      db.pragma(`application_id = ${schema.applicationId}`);
    }).immediate();
  }
}

const UNAVAILABLE =
  /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|READONLY|PROTOCOL|NOMEM|CORRUPT|NOTADB|PERM|NOLFS|AUTH)/;

/**
 * The StorageUnavailableError for a failure of the database itself (locked beyond the busy timeout,
 * I/O error, closed connection…), a DiskFullError (507) for a full disk, or null for anything else. The cause is kept for the
 * log; the error's detail never carries SQL or a path.
 */
export function storageFault(err: unknown): StorageUnavailableError | null {
  if (err instanceof StorageUnavailableError) return err;
  // SQLite reports ENOSPC on a write as SQLITE_FULL (also "database or disk is full" at max_page_count).
  if (isDiskFull(err)) return new DiskFullError(err);
  if (err instanceof Database.SqliteError && UNAVAILABLE.test(err.code))
    return new StorageUnavailableError(err);
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) {
    return new StorageUnavailableError(err);
  }
  return null;
}

/** SQLite's SQLITE_FULL, or an ENOSPC / EDQUOT from the filesystem. */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  if (err instanceof Database.SqliteError) return err.code === "SQLITE_FULL";
  return isNoSpaceErrno(err);
}

export type ConstraintKind = "UNIQUE" | "PRIMARYKEY" | "FOREIGNKEY";

export function isConstraint(err: unknown, ...kinds: ConstraintKind[]): boolean {
  return err instanceof Database.SqliteError && kinds.some((k) => err.code === `SQLITE_CONSTRAINT_${k}`);
}
