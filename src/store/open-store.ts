// Chooses and opens the configured store: the embedded SQLite files in the data dir, or PostgreSQL.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { FailureLog, FailureLogs } from "../failure-log.js";
import type { PostgresKeyStore } from "./postgres/postgres-key-store.js";
import type { PostgresObjectStore } from "./postgres/postgres-object-store.js";
import type { CheckpointEvents } from "./sqlite/background-checkpoint.js";
import { SqliteKeyStore } from "./sqlite/sqlite-key-store.js";
import { SqliteObjectStore } from "./sqlite/sqlite-object-store.js";
import type { KeyStore, ObjectStore } from "./store.js";

/** objects.db and keys.db in `dataDir` (created 0700 if missing); apart so that a backup of one never restores the other. */
export function openSqliteStores(
  dataDir: string,
  opts: { cacheMib?: number; checkpointEvents?: CheckpointEvents } = {},
): { objects: SqliteObjectStore; keys: SqliteKeyStore } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const cacheKib = opts.cacheMib === undefined ? undefined : opts.cacheMib * 1024;
  const objects = SqliteObjectStore.open(path.join(dataDir, "objects.db"), opts.checkpointEvents, {
    cacheKib,
  });
  try {
    return { objects, keys: SqliteKeyStore.open(path.join(dataDir, "keys.db")) };
  } catch (err) {
    void objects.close().catch(() => undefined);
    throw err;
  }
}

export async function openStores(
  config: Pick<Config, "dataDir" | "databaseUrl" | "keysDatabaseUrl" | "databasePoolSize" | "sqliteCacheMib">,
  logger: Logger,
): Promise<{ objects: ObjectStore; keys: KeyStore }> {
  if (config.databaseUrl) return openPostgresStores(config.databaseUrl, config, logger);
  // The WAL keeps growing while checkpoints fail: logged once, then summarised (not 40 lines a second).
  const checkpoint = new FailureLog(logger, "SQLite background checkpoint");
  const stores = openSqliteStores(config.dataDir, {
    cacheMib: config.sqliteCacheMib,
    checkpointEvents: { failed: (m) => checkpoint.failed(m), recovered: () => checkpoint.succeeded() },
  });
  logger.debug(
    { dataDir: config.dataDir, pageCacheKib: stores.objects.pageCacheKib },
    "opened the SQLite stores",
  );
  return stores;
}

/**
 * Objects in schema sse_objects of `databaseUrl`; keys in schema sse_keys of `keysDatabaseUrl`, by
 * default the same database, so that each can be backed up and restored on its own.
 */
export async function openPostgresStores(
  databaseUrl: string,
  config: Pick<Config, "keysDatabaseUrl" | "databasePoolSize">,
  logger: Logger,
): Promise<{ objects: PostgresObjectStore; keys: PostgresKeyStore }> {
  // Loaded only here: a server on SQLite never carries the PostgreSQL driver in memory.
  const [{ DEFAULT_OBJECTS_SCHEMA, PostgresObjectStore }, { DEFAULT_KEYS_SCHEMA, PostgresKeyStore }] =
    await Promise.all([
      import("./postgres/postgres-object-store.js"),
      import("./postgres/postgres-key-store.js"),
    ]);
  // Logged once, then summarised: an outage fails every idle connection and every heartbeat.
  const logs = new FailureLogs(logger, "PostgreSQL: ");
  const onError = (err: unknown, what: string) => logs.failed(what, err);
  const onRecovered = (what: string) => logs.succeeded(what);
  const objects = await PostgresObjectStore.open(databaseUrl, {
    poolSize: config.databasePoolSize,
    onError,
    onRecovered,
  });
  try {
    const keys = await PostgresKeyStore.open(config.keysDatabaseUrl ?? databaseUrl, { onError });
    logger.debug(
      {
        objectsSchema: DEFAULT_OBJECTS_SCHEMA,
        keysSchema: DEFAULT_KEYS_SCHEMA,
        separateKeysDatabase: !!config.keysDatabaseUrl,
      },
      "opened the PostgreSQL stores",
    );
    return { objects, keys };
  } catch (err) {
    await objects.close().catch(() => undefined);
    throw err;
  }
}
