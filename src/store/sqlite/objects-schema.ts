// The schema of objects.db: the migrations that build it, in order (migrations.ts runs them).
import type { Schema } from "./migrations.js";

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
