// Opens the embedded stores: objects.db, whose one connection carries the object, bucket, multipart,
// account and job ports, and keys.db, apart so that a backup of one never restores the other. Both
// may give up the emergency space of the data dir when the disk is full.
import { mkdirSync, statfsSync } from "node:fs";
import path from "node:path";
import type { StoreSpaceUse } from "../disk-space.js";
import { FileBlobStore } from "../files/blob-files.js";
import { combineStores, type KeysDatabase, type ObjectsDatabase, type Stores } from "../stores.js";
import { SqliteAccountStore } from "./accounts.js";
import { SqliteAuditStore } from "./audit.js";
import { type CheckpointEvents, NO_CHECKPOINT_EVENTS } from "./background-checkpoint.js";
import { SqliteBucketStore } from "./buckets.js";
import { SqliteDatabase } from "./database.js";
import { EMERGENCY_FILE, EmergencySpace, emergencySizeFor } from "./emergency-space.js";
import { SqliteJobStore } from "./jobs.js";
import { SqliteKeyStore } from "./keys.js";
import { KEYS_SCHEMA } from "./keys-schema.js";
import { SqliteMultipartStore } from "./multipart.js";
import { type LiveUploads, SqliteObjectStore } from "./objects.js";
import { OBJECTS_SCHEMA } from "./objects-schema.js";
import { BACKUP_HOLD_FILE } from "./write-data.js";

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
  /** Failures of the background checkpoint (the WAL keeps growing while they last), and its recovery. */
  checkpointEvents?: CheckpointEvents;
  /** Given up by a durable write that finds the disk full (emergency-space.ts). */
  emergency?: EmergencySpace | null;
  /**
   * Other server processes use the file at the same time (SSE_WORKERS): no lease is freed and no
   * upload swept on the belief that this process is alone.
   */
  shared?: boolean;
}

/** objects.db as it is opened: its ports, the page cache it was given (KiB), and its use of space. */
export interface SqliteObjectsDatabase extends ObjectsDatabase, StoreSpaceUse {
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
    { checkpoint: opts.checkpointEvents ?? NO_CHECKPOINT_EVENTS, emergency: opts.emergency },
  );
  const live: LiveUploads = new Set();
  const shared = opts.shared === true;
  let blobs: FileBlobStore;
  try {
    blobs = FileBlobStore.open(path.dirname(file));
  } catch (err) {
    db.close().catch(() => undefined);
    throw err;
  }
  return {
    objects: new SqliteObjectStore(db, live, {
      shared,
      blobs,
      backupHold: path.join(path.dirname(file), BACKUP_HOLD_FILE),
    }),
    buckets: new SqliteBucketStore(db),
    multipart: new SqliteMultipartStore(db, live, blobs),
    accounts: new SqliteAccountStore(db),
    jobs: new SqliteJobStore(db, { shared }),
    audit: new SqliteAuditStore(db),
    pageCacheKib: db.pageCacheKib,
    spaceUse: () => db.spaceUse(),
    get checkpointFailing() {
      return db.checkpointFailing;
    },
    ping: () => db.ping(),
    close: async () => {
      await blobs.close();
      await db.close();
    },
  };
}

/** keys.db; key changes go on when the disk is full, in the emergency space if given. */
export function openKeysFile(file: string, opts: { emergency?: EmergencySpace | null } = {}): KeysDatabase {
  // Small rows: the default page size; every write here is a key change and stays synchronous=FULL.
  const db = SqliteDatabase.open(
    file,
    KEYS_SCHEMA,
    { pageSize: 4096, walAutocheckpointPages: 1000, secureDelete: true },
    { emergency: opts.emergency },
  );
  return { keys: new SqliteKeyStore(db), ping: () => db.ping(), close: () => db.close() };
}

export interface SqliteStores extends Stores {
  /** objects.db's page cache, in KiB. */
  readonly pageCacheKib: number;
  /** objects.db's use of space (free pages, WAL) and its checkpoint's state. */
  readonly objectsFile: StoreSpaceUse;
  /** The data dir's emergency space, which both files may give up when the disk is full. */
  readonly emergency: EmergencySpace;
}

/** objects.db and keys.db in `dataDir` (created 0700 if missing). */
export function openSqliteStores(
  dataDir: string,
  opts: { cacheMib?: number; checkpointEvents?: CheckpointEvents; shared?: boolean } = {},
): SqliteStores {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const volume = statfsSync(dataDir);
  const emergency = new EmergencySpace(
    path.join(dataDir, EMERGENCY_FILE),
    emergencySizeFor(volume.blocks * volume.bsize),
  );
  const cacheKib = opts.cacheMib === undefined ? undefined : opts.cacheMib * 1024;
  const main = openObjectsFile(path.join(dataDir, "objects.db"), {
    cacheKib,
    checkpointEvents: opts.checkpointEvents,
    emergency,
    shared: opts.shared,
  });
  let keys: KeysDatabase;
  try {
    keys = openKeysFile(path.join(dataDir, "keys.db"), { emergency });
  } catch (err) {
    void main.close().catch(() => undefined);
    throw err;
  }
  return { ...combineStores(main, keys), pageCacheKib: main.pageCacheKib, objectsFile: main, emergency };
}
