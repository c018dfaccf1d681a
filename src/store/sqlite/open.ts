// Opens the embedded stores: objects.db, whose one connection carries the object, bucket, multipart,
// account and job ports, and keys.db, apart so that a backup of one never restores the other.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { combineStores, type KeysDatabase, type ObjectsDatabase, type Stores } from "../stores.js";
import { SqliteAccountStore } from "./accounts.js";
import { SqliteBucketStore } from "./buckets.js";
import { SqliteDatabase } from "./database.js";
import { SqliteJobStore } from "./jobs.js";
import { SqliteKeyStore } from "./keys.js";
import { KEYS_SCHEMA, OBJECTS_SCHEMA } from "./migrations.js";
import { SqliteMultipartStore } from "./multipart.js";
import { type LiveUploads, SqliteObjectStore } from "./objects.js";

/** 16 KiB pages: the best measured write throughput for 64 KiB segments, ~3% space overhead. */
const OBJECTS_PAGE_SIZE = 16384;
/**
 * Backstop only: a worker thread checkpoints continuously (background-checkpoint.ts); the main
 * connection checkpoints itself only if the WAL reaches ~256 MiB because the worker fell behind.
 */
const OBJECTS_WAL_AUTOCHECKPOINT_PAGES = (256 * 1024 * 1024) / OBJECTS_PAGE_SIZE;

export interface ObjectsFileOptions {
  /** Page cache of the connection, in KiB (default: SQLite's own 2 MiB). */
  cacheKib?: number;
  /** Failures of the background checkpoint: the WAL keeps growing while they last. */
  onBackgroundError?: (message: string) => void;
}

/** objects.db as it is opened: its ports, and the page cache it was given (KiB). */
export interface SqliteObjectsDatabase extends ObjectsDatabase {
  readonly pageCacheKib: number;
}

export function openObjectsFile(file: string, opts: ObjectsFileOptions = {}): SqliteObjectsDatabase {
  const db = SqliteDatabase.open(
    file,
    OBJECTS_SCHEMA,
    {
      pageSize: OBJECTS_PAGE_SIZE,
      walAutocheckpointPages: OBJECTS_WAL_AUTOCHECKPOINT_PAGES,
      cacheKib: opts.cacheKib,
    },
    { onError: opts.onBackgroundError ?? (() => undefined) },
  );
  const live: LiveUploads = new Set();
  return {
    objects: new SqliteObjectStore(db, live),
    buckets: new SqliteBucketStore(db),
    multipart: new SqliteMultipartStore(db, live),
    accounts: new SqliteAccountStore(db),
    jobs: new SqliteJobStore(db),
    pageCacheKib: db.pageCacheKib,
    ping: () => db.ping(),
    close: () => db.close(),
  };
}

export function openKeysFile(file: string): KeysDatabase {
  // Small rows: the default page size; every write here is a key change and stays synchronous=FULL.
  const db = SqliteDatabase.open(file, KEYS_SCHEMA, {
    pageSize: 4096,
    walAutocheckpointPages: 1000,
    secureDelete: true,
  });
  return { keys: new SqliteKeyStore(db), ping: () => db.ping(), close: () => db.close() };
}

export interface SqliteStores extends Stores {
  /** objects.db's page cache, in KiB. */
  readonly pageCacheKib: number;
}

/** objects.db and keys.db in `dataDir` (created 0700 if missing). */
export function openSqliteStores(
  dataDir: string,
  opts: { cacheMib?: number; onBackgroundError?: (message: string) => void } = {},
): SqliteStores {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const cacheKib = opts.cacheMib === undefined ? undefined : opts.cacheMib * 1024;
  const main = openObjectsFile(path.join(dataDir, "objects.db"), {
    cacheKib,
    onBackgroundError: opts.onBackgroundError,
  });
  let keys: KeysDatabase;
  try {
    keys = openKeysFile(path.join(dataDir, "keys.db"));
  } catch (err) {
    void main.close().catch(() => undefined);
    throw err;
  }
  return { ...combineStores(main, keys), pageCacheKib: main.pageCacheKib };
}
