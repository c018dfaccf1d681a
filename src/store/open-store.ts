// Chooses and opens the configured stores: the embedded SQLite files in the data dir, or PostgreSQL,
// with the free-space reserve that uploads may not enter (disk-space.ts).
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { FailureLog } from "../failure-log.js";
import { DiskSpace, ObservedSpace } from "./disk-space.js";
import { openSqliteStores } from "./sqlite/open.js";
import type { Stores } from "./stores.js";

/** The stores with their space watcher, which openStores always sets. */
export type OpenedStores = Stores & Required<Pick<Stores, "space">>;

export async function openStores(
  config: Pick<
    Config,
    "dataDir" | "databaseUrl" | "keysDatabaseUrl" | "databasePoolSize" | "sqliteCacheMib" | "minFreeBytes"
  > &
    Partial<Pick<Config, "libraryShortcuts">>,
  logger: Logger,
  /** Other server processes of this one (SSE_WORKERS) open the same SQLite files meanwhile. */
  opts: { shared?: boolean } = {},
): Promise<OpenedStores> {
  if (config.databaseUrl) {
    // Loaded only here: a server on SQLite never carries the PostgreSQL driver in memory.
    const { openPostgresStores } = await import("./postgres/open.js");
    const stores = await openPostgresStores(config.databaseUrl, config, logger);
    return { ...stores, space: new ObservedSpace(logger) };
  }
  // The WAL keeps growing while checkpoints fail: logged once, then summarised (not 40 lines a second).
  const checkpoint = new FailureLog(logger, "SQLite background checkpoint");
  const stores = openSqliteStores(config.dataDir, {
    cacheMib: config.sqliteCacheMib,
    checkpointEvents: { failed: (m) => checkpoint.failed(m), recovered: () => checkpoint.succeeded() },
    shared: opts.shared === true,
  });
  const space = new DiskSpace({
    dir: config.dataDir,
    reserve: config.minFreeBytes,
    store: stores.objectsFile,
    emergency: stores.emergency,
    logger,
  });
  try {
    await space.start();
  } catch (err) {
    await stores.close().catch(() => undefined);
    throw err;
  }
  logger.debug({ dataDir: config.dataDir, pageCacheKib: stores.pageCacheKib }, "opened the SQLite stores");
  logger.info(
    { reserveBytes: space.reserve, emergencySpaceBytes: stores.emergency.held ? stores.emergency.bytes : 0 },
    "free space reserve of the data directory's volume: uploads that would go below it are refused",
  );
  return { ...stores, space };
}
