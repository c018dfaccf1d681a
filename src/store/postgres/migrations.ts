// Versioned schema migrations for PostgreSQL. Every server process runs them at start; an advisory
// lock held for the transaction makes the processes take turns, so each migration runs exactly once
// and a process never sees a half-migrated schema. DDL is transactional in PostgreSQL: a failed
// migration leaves nothing behind.
import { SchemaVersionError } from "../schema-version-error.js";
import { type PgDatabase, quoteIdent } from "./pg-database.js";

export interface PgMigration {
  /** 1, 2, 3, … without gaps; applied once, in order. */
  version: number;
  name: string;
  /** SQL run with the schema first on the search_path. */
  up: string;
}

export interface PgSchema {
  /** Human name in error messages ("objects", "keys"). */
  label: string;
  migrations: readonly PgMigration[];
}

/** Brings the database's schema up to date; refuses one from a newer release or one that is not ours. */
export async function migrate(db: PgDatabase, schema: PgSchema): Promise<void> {
  const { label, migrations } = schema;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${label} migrations must be numbered 1..n without gaps`);
  });
  const latest = migrations.length;
  const name = db.schema;
  await db.tx("durable", async (q) => {
    // Released at commit or rollback, also when the connection dies.
    await q.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`sse-store migrations ${name}`]);
    const [ns] = await q.query<{ tables: number; ours: boolean }>(
      `SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) AS tables,
              to_regclass(format('%I.schema_migrations', n.nspname)) IS NOT NULL AS ours
       FROM pg_namespace n WHERE n.nspname = $1`,
      [name],
    );
    if (ns && ns.tables > 0 && !ns.ours) {
      throw new SchemaVersionError(`schema ${name} holds tables that are not an SSE Store ${label} store`);
    }
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}`);
    await q.query(`SET LOCAL search_path TO ${quoteIdent(name)}`);
    await q.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const [row] = await q.query<{ v: number }>(
      "SELECT coalesce(max(version), 0) AS v FROM schema_migrations",
    );
    const found = row?.v ?? 0;
    if (found > latest) {
      throw new SchemaVersionError(
        `the ${label} schema ${name} has version ${found}, but this release only knows up to ${latest}; ` +
          "run a newer SSE Store or restore a backup made by this one",
      );
    }
    for (const m of migrations.slice(found)) {
      await q.query(m.up);
      await q.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
    }
  });
}

// --- the schemas ----------------------------------------------------------------------------------
// Text keys use the "C" collation: list order is bytewise, as in SQLite, whatever the database's locale.

/** Users, tokens, object metadata, ciphertext segments, uploads, trash, jobs. */
export const OBJECTS_SCHEMA: PgSchema = {
  label: "objects",
  migrations: [
    {
      version: 1,
      name: "initial",
      up: `
        CREATE TABLE users (
          uid text COLLATE "C" PRIMARY KEY,
          name text COLLATE "C" NOT NULL UNIQUE,
          role text NOT NULL CHECK (role IN ('admin', 'user')),
          created timestamptz NOT NULL
        );

        CREATE TABLE tokens (
          id text COLLATE "C" PRIMARY KEY,
          uid text COLLATE "C" NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
          label text,
          scopes text[] NOT NULL,
          secret_hash bytea NOT NULL,
          created timestamptz NOT NULL,
          last_used timestamptz,
          expires_at timestamptz
        );
        CREATE INDEX tokens_by_uid ON tokens (uid);

        CREATE TABLE objects (
          owner text COLLATE "C" NOT NULL REFERENCES users (uid),
          id text COLLATE "C" NOT NULL,
          num bigint,
          kind text NOT NULL CHECK (kind IN ('item', 'blob')),
          size bigint NOT NULL,
          content_type text NOT NULL,
          etag text NOT NULL,
          created timestamptz NOT NULL,
          modified timestamptz NOT NULL,
          write_id bytea NOT NULL UNIQUE,
          format_version integer NOT NULL,
          suite integer NOT NULL,
          segment_size integer NOT NULL,
          kek_version integer NOT NULL,
          wrapped_dek bytea NOT NULL,
          PRIMARY KEY (owner, id)
        );
        -- The two halves of the list order, each a range scan.
        CREATE INDEX objects_integer_ids ON objects (owner, num) WHERE num IS NOT NULL;
        CREATE INDEX objects_other_ids ON objects (owner, id) WHERE num IS NULL;
        CREATE INDEX objects_by_kek ON objects (owner, kek_version);

        -- An upload in progress; its heartbeat tells other processes that its writer is alive.
        CREATE TABLE uploads (
          write_id bytea PRIMARY KEY,
          owner text COLLATE "C" NOT NULL REFERENCES users (uid),
          id text COLLATE "C" NOT NULL,
          started timestamptz NOT NULL DEFAULT now(),
          heartbeat timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX uploads_by_owner ON uploads (owner);
        CREATE INDEX uploads_by_heartbeat ON uploads (heartbeat);

        CREATE TABLE segments (
          write_id bytea NOT NULL,
          idx integer NOT NULL,
          data bytea NOT NULL,
          PRIMARY KEY (write_id, idx)
        );
        -- Ciphertext does not compress: store it out of line without trying.
        ALTER TABLE segments ALTER COLUMN data SET STORAGE EXTERNAL;

        -- Writes whose segments are to be deleted.
        CREATE TABLE trash (
          write_id bytea PRIMARY KEY,
          trashed_at timestamptz NOT NULL
        );
        CREATE INDEX trash_by_time ON trash (trashed_at);

        -- Trashed writes that a process (reader) is still streaming; renewed by its heartbeat.
        CREATE TABLE read_pins (
          write_id bytea NOT NULL,
          reader text NOT NULL,
          pinned_until timestamptz NOT NULL,
          PRIMARY KEY (write_id, reader)
        );

        CREATE TABLE jobs (
          id text COLLATE "C" PRIMARY KEY,
          kind text NOT NULL,
          owner text NOT NULL,
          target text,
          state text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
          done bigint NOT NULL,
          total bigint NOT NULL,
          error text,
          cursor text,
          created timestamptz NOT NULL,
          updated timestamptz NOT NULL,
          lease_owner text,
          lease_until timestamptz
        );
        CREATE INDEX jobs_by_state ON jobs (state, created);
      `,
    },
    {
      version: 2,
      name: "job results",
      up: "ALTER TABLE jobs ADD COLUMN result text;",
    },
    {
      version: 3,
      name: "enrollment",
      // A user whose token was ever used has authenticated with a credential of its own.
      up: `
        ALTER TABLE users ADD COLUMN enrolled_at timestamptz;
        ALTER TABLE tokens ADD COLUMN issued_by text;
        UPDATE users SET enrolled_at = (SELECT min(t.last_used) FROM tokens t WHERE t.uid = users.uid);
      `,
    },
    {
      version: 4,
      name: "access keys",
      // S3 access keys: SigV4 needs the secret itself, so it is kept wrapped under the user's KEK.
      up: `
        CREATE TABLE access_keys (
          id text COLLATE "C" PRIMARY KEY,
          uid text COLLATE "C" NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
          label text,
          scopes text[] NOT NULL,
          kek_version integer NOT NULL,
          wrapped_secret bytea NOT NULL,
          created timestamptz NOT NULL,
          last_used timestamptz,
          expires_at timestamptz,
          issued_by text
        );
        CREATE INDEX access_keys_by_uid ON access_keys (uid);
      `,
    },
    {
      version: 5,
      name: "s3 objects",
      // Buckets, multipart uploads and their parts, the parts and manifest of completed multipart
      // objects, and each object's sealed metadata record (docs/FORMAT.md, "Sealed records").
      up: `
        ALTER TABLE objects ADD COLUMN sealed_meta bytea;

        CREATE TABLE buckets (
          owner text COLLATE "C" NOT NULL REFERENCES users (uid),
          name text COLLATE "C" NOT NULL,
          created timestamptz NOT NULL,
          PRIMARY KEY (owner, name)
        );

        CREATE TABLE multipart_uploads (
          upload_id text COLLATE "C" PRIMARY KEY,
          owner text COLLATE "C" NOT NULL REFERENCES users (uid),
          id text COLLATE "C" NOT NULL,
          write_id bytea NOT NULL UNIQUE,
          format_version integer NOT NULL,
          suite integer NOT NULL,
          segment_size integer NOT NULL,
          kek_version integer NOT NULL,
          wrapped_dek bytea NOT NULL,
          content_type text NOT NULL,
          sealed_meta bytea,
          created timestamptz NOT NULL
        );
        CREATE INDEX multipart_uploads_list ON multipart_uploads (owner, id, upload_id);
        CREATE INDEX multipart_uploads_by_age ON multipart_uploads (created);

        CREATE TABLE multipart_parts (
          upload_id text COLLATE "C" NOT NULL REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
          number integer NOT NULL,
          write_id bytea NOT NULL UNIQUE,
          size bigint NOT NULL,
          sealed_info bytea NOT NULL,
          created timestamptz NOT NULL,
          PRIMARY KEY (upload_id, number)
        );

        CREATE TABLE object_parts (
          write_id bytea NOT NULL,
          number integer NOT NULL,
          part_write_id bytea NOT NULL UNIQUE,
          PRIMARY KEY (write_id, number)
        );

        CREATE TABLE manifests (
          write_id bytea PRIMARY KEY,
          sealed bytea NOT NULL
        );
        ALTER TABLE manifests ALTER COLUMN sealed SET STORAGE EXTERNAL;
      `,
    },
    {
      version: 6,
      name: "audit log",
      // The chain's records (docs/AUDIT.md) and its head, whose row lock makes the appends of every
      // process take turns; a record removed from the tail leaves the head ahead of it.
      up: `
        CREATE TABLE audit_events (
          seq bigint PRIMARY KEY,
          time bigint NOT NULL,
          actor text COLLATE "C",
          action text COLLATE "C" NOT NULL,
          owner text COLLATE "C",
          hash text NOT NULL,
          body text NOT NULL
        );
        CREATE INDEX audit_events_by_time ON audit_events (time);
        CREATE INDEX audit_events_by_actor ON audit_events (actor, seq);
        CREATE INDEX audit_events_by_owner ON audit_events (owner, seq);

        CREATE TABLE audit_head (
          one boolean PRIMARY KEY CHECK (one),
          seq bigint NOT NULL,
          hash text NOT NULL
        );
        INSERT INTO audit_head VALUES (true, 0, '${"0".repeat(64)}');
      `,
    },
  ],
};

/** Each user's KEK versions, wrapped by the root key, and the user's key state. */
export const KEYS_SCHEMA: PgSchema = {
  label: "keys",
  migrations: [
    {
      version: 1,
      name: "initial",
      up: `
        CREATE TABLE user_keys (
          owner text COLLATE "C" PRIMARY KEY,
          primary_version integer NOT NULL,
          min_decryption_version integer NOT NULL
        );

        CREATE TABLE kek_versions (
          owner text COLLATE "C" NOT NULL REFERENCES user_keys (owner),
          version integer NOT NULL,
          root_version integer NOT NULL,
          wrapped_kek bytea NOT NULL,
          created timestamptz NOT NULL,
          PRIMARY KEY (owner, version)
        );
        CREATE INDEX kek_versions_by_root ON kek_versions (root_version, owner, version);
      `,
    },
  ],
};
