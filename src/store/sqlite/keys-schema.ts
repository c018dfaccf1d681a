// The schema of keys.db: the migrations that build it, in order (migrations.ts runs them).
import type { Schema } from "./migrations.js";

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
