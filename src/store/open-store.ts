// Chooses and opens the configured store: the embedded SQLite files in the data dir, or PostgreSQL.
import { mkdirSync, statfsSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { FailureLog, FailureLogs } from "../failure-log.js";
import type { SpaceGuard, SpaceStatus } from "../objects/storage-reserve.js";
import { DiskSpace, ObservedSpace } from "./disk-space.js";
import type { PostgresKeyStore } from "./postgres/postgres-key-store.js";
import type { PostgresObjectStore } from "./postgres/postgres-object-store.js";
import type { CheckpointEvents } from "./sqlite/background-checkpoint.js";
import { EMERGENCY_FILE, EmergencySpace, emergencySizeFor } from "./sqlite/emergency-space.js";
import { SqliteKeyStore } from "./sqlite/sqlite-key-store.js";
import { SqliteObjectStore } from "./sqlite/sqlite-object-store.js";
import type { KeyStore, ObjectStore } from "./store.js";

/**
 * objects.db and keys.db in `dataDir` (created 0700 if missing); apart so that a backup of one never
 * restores the other. Both may give up the emergency space of the data dir when the disk is full.
 */
export function openSqliteStores(
  dataDir: string,
  opts: { cacheMib?: number; checkpointEvents?: CheckpointEvents } = {},
): { objects: SqliteObjectStore; keys: SqliteKeyStore; emergency: EmergencySpace } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const volume = statfsSync(dataDir);
  const emergency = new EmergencySpace(
    path.join(dataDir, EMERGENCY_FILE),
    emergencySizeFor(volume.blocks * volume.bsize),
  );
  const cacheKib = opts.cacheMib === undefined ? undefined : opts.cacheMib * 1024;
  const objects = SqliteObjectStore.open(path.join(dataDir, "objects.db"), opts.checkpointEvents, {
    cacheKib,
    emergency,
  });
  try {
    return { objects, keys: SqliteKeyStore.open(path.join(dataDir, "keys.db"), { emergency }), emergency };
  } catch (err) {
    void objects.close().catch(() => undefined);
    throw err;
  }
}

export interface OpenedStores {
  objects: ObjectStore;
  keys: KeyStore;
  /** The reserve and the state of the space writes need (SQLite: the data dir's volume). */
  space: SpaceGuard & SpaceStatus;
}

export async function openStores(
  config: Pick<
    Config,
    "dataDir" | "databaseUrl" | "keysDatabaseUrl" | "databasePoolSize" | "sqliteCacheMib" | "minFreeBytes"
  >,
  logger: Logger,
): Promise<OpenedStores> {
  if (config.databaseUrl) {
    const stores = await openPostgresStores(config.databaseUrl, config, logger);
    return { ...stores, space: new ObservedSpace(logger) };
  }
  // The WAL keeps growing while checkpoints fail: logged once, then summarised (not 40 lines a second).
  const checkpoint = new FailureLog(logger, "SQLite background checkpoint");
  const stores = openSqliteStores(config.dataDir, {
    cacheMib: config.sqliteCacheMib,
    checkpointEvents: { failed: (m) => checkpoint.failed(m), recovered: () => checkpoint.succeeded() },
  });
  const space = new DiskSpace({
    dir: config.dataDir,
    reserve: config.minFreeBytes,
    store: stores.objects,
    emergency: stores.emergency,
    logger,
  });
  try {
    await space.start();
  } catch (err) {
    await stores.objects.close().catch(() => undefined);
    await stores.keys.close().catch(() => undefined);
    throw err;
  }
  logger.debug(
    { dataDir: config.dataDir, pageCacheKib: stores.objects.pageCacheKib },
    "opened the SQLite stores",
  );
  logger.info(
    { reserveBytes: space.reserve, emergencySpaceBytes: stores.emergency.held ? stores.emergency.bytes : 0 },
    "free space reserve of the data directory's volume: uploads that would go below it are refused",
  );
  return { objects: stores.objects, keys: stores.keys, space };
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
