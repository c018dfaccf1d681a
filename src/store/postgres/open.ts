// Opens the PostgreSQL stores: objects, buckets, multipart uploads, accounts and jobs in schema
// sse_objects of one pool, and the keys in schema sse_keys, of the same database by default or of
// their own, so that each can be backed up and restored on its own. Several processes may open
// them at once.
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import { FailureLogs } from "../../failure-log.js";
import { combineStores, type KeysDatabase, type ObjectsDatabase, type Stores } from "../stores.js";
import { PostgresAccountStore } from "./accounts.js";
import { PostgresAuditStore } from "./audit.js";
import { PostgresBucketStore } from "./buckets.js";
import { PostgresJobStore } from "./jobs.js";
import { PostgresKeyStore } from "./keys.js";
import { Liveness, type LivenessOptions } from "./liveness.js";
import { KEYS_SCHEMA, migrate, OBJECTS_SCHEMA, type PgSchema } from "./migrations.js";
import { PostgresMultipartStore } from "./multipart.js";
import { PostgresObjectStore } from "./objects.js";
import { PgDatabase } from "./pg-database.js";

export const DEFAULT_OBJECTS_SCHEMA = "sse_objects";
export const DEFAULT_KEYS_SCHEMA = "sse_keys";

export interface PostgresOptions {
  /** Schema of the tables (default sse_objects, or sse_keys). */
  schema?: string;
  /** Most connections of this process (default 10 for the objects, 4 for the keys: they are cached). */
  poolSize?: number;
  /** BYTEA over binary COPY (default true; SSE_LIBRARY_SHORTCUTS). */
  binaryCopy?: boolean;
  /** Background failures (heartbeat, idle connections, VACUUM), for the log. */
  onError?: (err: unknown, what: string) => void;
}

/** Connects to `schema` and migrates it; closes the pool again when that fails. */
async function connect(url: string, schema: PgSchema, name: string, max: number, opts: PostgresOptions) {
  const db = new PgDatabase({
    url,
    schema: name,
    max,
    onIdleError: (err) => opts.onError?.(err, "idle database connection"),
    binaryCopy: opts.binaryCopy,
  });
  try {
    await migrate(db, schema);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

export type ObjectsSchemaOptions = PostgresOptions & LivenessOptions;

export async function openObjectsSchema(
  url: string,
  opts: ObjectsSchemaOptions = {},
): Promise<ObjectsDatabase> {
  const db = await connect(
    url,
    OBJECTS_SCHEMA,
    opts.schema ?? DEFAULT_OBJECTS_SCHEMA,
    opts.poolSize ?? 10,
    opts,
  );
  let liveness: Liveness;
  try {
    liveness = new Liveness(db, opts);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return {
    objects: new PostgresObjectStore(db, liveness),
    buckets: new PostgresBucketStore(db),
    multipart: new PostgresMultipartStore(db, liveness),
    accounts: new PostgresAccountStore(db),
    jobs: new PostgresJobStore(db),
    audit: new PostgresAuditStore(db),
    ping: async () => {
      await db.query("SELECT 1");
    },
    close: async () => {
      liveness.stop();
      await db.close();
    },
  };
}

export async function openKeysSchema(url: string, opts: PostgresOptions = {}): Promise<KeysDatabase> {
  const db = await connect(url, KEYS_SCHEMA, opts.schema ?? DEFAULT_KEYS_SCHEMA, opts.poolSize ?? 4, opts);
  return {
    keys: new PostgresKeyStore(db, opts.onError ?? (() => undefined)),
    ping: async () => {
      await db.query("SELECT 1");
    },
    close: () => db.close(),
  };
}

/** Objects in schema sse_objects of `databaseUrl`; keys in schema sse_keys of `keysDatabaseUrl`, by default the same database. */
export async function openPostgresStores(
  databaseUrl: string,
  config: Pick<Config, "keysDatabaseUrl" | "databasePoolSize"> & Partial<Pick<Config, "libraryShortcuts">>,
  logger: Logger,
): Promise<Stores> {
  // Logged once, then summarised: an outage fails every idle connection and every heartbeat.
  const logs = new FailureLogs(logger, "PostgreSQL: ");
  const onError = (err: unknown, what: string) => logs.failed(what, err);
  const onRecovered = (what: string) => logs.succeeded(what);
  const main = await openObjectsSchema(databaseUrl, {
    poolSize: config.databasePoolSize,
    binaryCopy: config.libraryShortcuts?.includes("binary-copy") ?? true,
    onError,
    onRecovered,
  });
  let keys: KeysDatabase;
  try {
    keys = await openKeysSchema(config.keysDatabaseUrl ?? databaseUrl, { onError });
  } catch (err) {
    await main.close().catch(() => undefined);
    throw err;
  }
  logger.debug(
    {
      objectsSchema: DEFAULT_OBJECTS_SCHEMA,
      keysSchema: DEFAULT_KEYS_SCHEMA,
      separateKeysDatabase: !!config.keysDatabaseUrl,
    },
    "opened the PostgreSQL stores",
  );
  return combineStores(main, keys);
}
