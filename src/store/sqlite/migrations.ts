// Opening an SSE Store SQLite file: connection pragmas, versioned schema migrations, and the mapping
// of SQLite failures to StorageUnavailableError. Shared by the object store and the key store.
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

// --- the schemas ----------------------------------------------------------------------------------

/** objects.db: users, tokens, object metadata, ciphertext segments, uploads, trash, jobs. */
export const OBJECTS_SCHEMA: Schema = {
  label: "objects",
  applicationId: 0x5353454f, // "SSEO"
  migrations: [
    {
      version: 1,
      name: "initial",
      up: `
        CREATE TABLE users (
          uid TEXT PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
          created INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE tokens (
          id TEXT PRIMARY KEY,
          uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
          label TEXT,
          scopes TEXT NOT NULL,
          secret_hash BLOB NOT NULL,
          created INTEGER NOT NULL,
          last_used INTEGER,
          expires_at INTEGER
        ) STRICT;
        CREATE INDEX tokens_by_uid ON tokens (uid);

        CREATE TABLE objects (
          owner TEXT NOT NULL REFERENCES users (uid),
          id TEXT NOT NULL,
          num INTEGER,
          kind TEXT NOT NULL CHECK (kind IN ('item', 'blob')),
          size INTEGER NOT NULL,
          content_type TEXT NOT NULL,
          etag TEXT NOT NULL,
          created INTEGER NOT NULL,
          modified INTEGER NOT NULL,
          write_id BLOB NOT NULL UNIQUE,
          format_version INTEGER NOT NULL,
          suite INTEGER NOT NULL,
          segment_size INTEGER NOT NULL,
          kek_version INTEGER NOT NULL,
          wrapped_dek BLOB NOT NULL,
          PRIMARY KEY (owner, id)
        ) STRICT;
        CREATE INDEX objects_list ON objects (owner, num, id);
        CREATE INDEX objects_by_kek ON objects (owner, kek_version);

        CREATE TABLE uploads (
          write_id BLOB PRIMARY KEY,
          owner TEXT NOT NULL REFERENCES users (uid),
          id TEXT NOT NULL,
          started INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX uploads_by_owner ON uploads (owner);

        CREATE TABLE segments (
          write_id BLOB NOT NULL,
          idx INTEGER NOT NULL,
          data BLOB NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX segments_by_write ON segments (write_id, idx);

        CREATE TABLE trash (
          write_id BLOB PRIMARY KEY,
          trashed_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX trash_by_time ON trash (trashed_at);

        CREATE TABLE jobs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          owner TEXT NOT NULL,
          target TEXT,
          state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
          done INTEGER NOT NULL,
          total INTEGER NOT NULL,
          error TEXT,
          cursor TEXT,
          created INTEGER NOT NULL,
          updated INTEGER NOT NULL,
          lease_owner TEXT,
          lease_until INTEGER
        ) STRICT;
        CREATE INDEX jobs_by_state ON jobs (state, created);
      `,
    },
    {
      version: 2,
      name: "job results",
      up: "ALTER TABLE jobs ADD COLUMN result TEXT;",
    },
    {
      version: 3,
      name: "enrollment",
      // A user whose token was ever used has authenticated with a credential of its own.
      up: `
        ALTER TABLE users ADD COLUMN enrolled_at INTEGER;
        ALTER TABLE tokens ADD COLUMN issued_by TEXT;
        UPDATE users SET enrolled_at = (SELECT min(t.last_used) FROM tokens t WHERE t.uid = users.uid);
      `,
    },
    {
      version: 4,
      name: "access keys",
      // S3 access keys: SigV4 needs the secret itself, so it is kept wrapped under the user's KEK.
      up: `
        CREATE TABLE access_keys (
          id TEXT PRIMARY KEY,
          uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
          label TEXT,
          scopes TEXT NOT NULL,
          kek_version INTEGER NOT NULL,
          wrapped_secret BLOB NOT NULL,
          created INTEGER NOT NULL,
          last_used INTEGER,
          expires_at INTEGER,
          issued_by TEXT
        ) STRICT;
        CREATE INDEX access_keys_by_uid ON access_keys (uid);
      `,
    },
    {
      version: 5,
      name: "s3 objects",
      // Buckets, multipart uploads and their parts, the parts and manifest of completed multipart
      // objects, and each object's sealed metadata record (docs/FORMAT.md, "Sealed records").
      up: `
        ALTER TABLE objects ADD COLUMN sealed_meta BLOB;

        CREATE TABLE buckets (
          owner TEXT NOT NULL REFERENCES users (uid),
          name TEXT NOT NULL,
          created INTEGER NOT NULL,
          PRIMARY KEY (owner, name)
        ) STRICT;

        CREATE TABLE multipart_uploads (
          upload_id TEXT PRIMARY KEY,
          owner TEXT NOT NULL REFERENCES users (uid),
          id TEXT NOT NULL,
          write_id BLOB NOT NULL UNIQUE,
          format_version INTEGER NOT NULL,
          suite INTEGER NOT NULL,
          segment_size INTEGER NOT NULL,
          kek_version INTEGER NOT NULL,
          wrapped_dek BLOB NOT NULL,
          content_type TEXT NOT NULL,
          sealed_meta BLOB,
          created INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX multipart_uploads_list ON multipart_uploads (owner, id, upload_id);
        CREATE INDEX multipart_uploads_by_age ON multipart_uploads (created);

        CREATE TABLE multipart_parts (
          upload_id TEXT NOT NULL REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
          number INTEGER NOT NULL,
          write_id BLOB NOT NULL UNIQUE,
          size INTEGER NOT NULL,
          sealed_info BLOB NOT NULL,
          created INTEGER NOT NULL,
          PRIMARY KEY (upload_id, number)
        ) STRICT;

        CREATE TABLE object_parts (
          write_id BLOB NOT NULL,
          number INTEGER NOT NULL,
          part_write_id BLOB NOT NULL UNIQUE,
          PRIMARY KEY (write_id, number)
        ) STRICT;

        CREATE TABLE manifests (
          write_id BLOB PRIMARY KEY,
          sealed BLOB NOT NULL
        ) STRICT;
      `,
    },
    {
      version: 6,
      name: "audit log",
      // The chain's records (docs/AUDIT.md) and its head: a record removed from the tail leaves the
      // head ahead of it, so the next append shows the gap.
      up: `
        CREATE TABLE audit_events (
          seq INTEGER PRIMARY KEY,
          time INTEGER NOT NULL,
          actor TEXT,
          action TEXT NOT NULL,
          owner TEXT,
          hash TEXT NOT NULL,
          body TEXT NOT NULL
        ) STRICT;
        CREATE INDEX audit_events_by_time ON audit_events (time);
        CREATE INDEX audit_events_by_actor ON audit_events (actor, seq);
        CREATE INDEX audit_events_by_owner ON audit_events (owner, seq);

        CREATE TABLE audit_head (
          one INTEGER PRIMARY KEY CHECK (one = 1),
          seq INTEGER NOT NULL,
          hash TEXT NOT NULL
        ) STRICT;
        INSERT INTO audit_head VALUES (1, 0, '${"0".repeat(64)}');
      `,
    },
    {
      version: 7,
      name: "named locks",
      // AccountStore.exclusively across the processes that share the file (SSE_WORKERS): a row per
      // lock held, naming its holder, renewed while held; a dead holder's row is taken over.
      up: `
        CREATE TABLE locks (
          name TEXT PRIMARY KEY,
          holder TEXT NOT NULL,
          pid INTEGER NOT NULL,
          until INTEGER NOT NULL
        ) STRICT;
      `,
    },
  ],
};

/** keys.db: each user's KEK versions, wrapped by the root key, and the user's key state. */
export const KEYS_SCHEMA: Schema = {
  label: "keys",
  applicationId: 0x5353454b, // "SSEK"
  migrations: [
    {
      version: 1,
      name: "initial",
      up: `
        CREATE TABLE user_keys (
          owner TEXT PRIMARY KEY,
          primary_version INTEGER NOT NULL,
          min_decryption_version INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE kek_versions (
          owner TEXT NOT NULL REFERENCES user_keys (owner),
          version INTEGER NOT NULL,
          root_version INTEGER NOT NULL,
          wrapped_kek BLOB NOT NULL,
          created INTEGER NOT NULL,
          PRIMARY KEY (owner, version)
        ) STRICT;
        CREATE INDEX kek_versions_by_root ON kek_versions (root_version, owner, version);
      `,
    },
  ],
};
