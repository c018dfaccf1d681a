// Chooses and opens the configured store: the embedded SQLite files in the data dir, or PostgreSQL.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { SqliteKeyStore } from "./sqlite/sqlite-key-store.js";
import { SqliteObjectStore } from "./sqlite/sqlite-object-store.js";
import type { KeyStore, ObjectStore } from "./store.js";

/** objects.db and keys.db in `dataDir` (created 0700 if missing); apart so that a backup of one never restores the other. */
export function openSqliteStores(dataDir: string): { objects: SqliteObjectStore; keys: SqliteKeyStore } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const objects = SqliteObjectStore.open(path.join(dataDir, "objects.db"));
  try {
    return { objects, keys: SqliteKeyStore.open(path.join(dataDir, "keys.db")) };
  } catch (err) {
    void objects.close().catch(() => undefined);
    throw err;
  }
}

export async function openStores(
  config: Pick<Config, "dataDir" | "databaseUrl">,
  logger: Logger,
): Promise<{ objects: ObjectStore; keys: KeyStore }> {
  if (config.databaseUrl) throw new Error("the PostgreSQL store is not available in this build yet");
  const stores = openSqliteStores(config.dataDir);
  logger.debug({ dataDir: config.dataDir }, "opened the SQLite stores");
  return stores;
}
