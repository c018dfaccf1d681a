// Chooses and opens the configured stores: the embedded SQLite files in the data dir, or PostgreSQL.
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { openSqliteStores } from "./sqlite/open.js";
import type { Stores } from "./stores.js";

export async function openStores(
  config: Pick<Config, "dataDir" | "databaseUrl" | "keysDatabaseUrl" | "databasePoolSize" | "sqliteCacheMib">,
  logger: Logger,
): Promise<Stores> {
  if (config.databaseUrl) {
    // Loaded only here: a server on SQLite never carries the PostgreSQL driver in memory.
    const { openPostgresStores } = await import("./postgres/open.js");
    return openPostgresStores(config.databaseUrl, config, logger);
  }
  const stores = openSqliteStores(config.dataDir, {
    cacheMib: config.sqliteCacheMib,
    // The WAL keeps growing while checkpoints fail; an operator must hear about it.
    onBackgroundError: (message) => logger.error({ error: message }, "SQLite background checkpoint failed"),
  });
  logger.debug({ dataDir: config.dataDir, pageCacheKib: stores.pageCacheKib }, "opened the SQLite stores");
  return stores;
}
