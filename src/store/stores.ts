// What the process opens: the four ports on their two databases (the objects database holds
// objects, accounts and jobs on one connection; the keys database is apart, so that a backup of
// one never restores the other), with one ping and one close for both. open-store.ts opens them.
import type { SpaceGuard, SpaceStatus } from "../objects/storage-reserve.js";
import type { AccountStore } from "./account-store.js";
import type { AuditStore } from "./audit-store.js";
import type { BucketStore } from "./bucket-store.js";
import type { JobStore } from "./job-store.js";
import type { KeyStore } from "./key-store.js";
import type { MultipartStore } from "./multipart-store.js";
import type { ObjectStore } from "./object-store.js";

/** One database: answers a trivial query, and closes (idempotent; the ports on it then throw StorageUnavailableError). */
export interface Database {
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The ports on the objects database. */
export interface ObjectsPorts {
  objects: ObjectStore;
  buckets: BucketStore;
  multipart: MultipartStore;
  accounts: AccountStore;
  jobs: JobStore;
  /** The audit log's chain. */
  audit: AuditStore;
}

/** objects.db, or schema sse_objects: the ports that share its connection. */
export interface ObjectsDatabase extends Database, ObjectsPorts {}

/** keys.db, or schema sse_keys. */
export interface KeysDatabase extends Database {
  keys: KeyStore;
}

export interface Stores extends ObjectsPorts {
  keys: KeyStore;
  /**
   * The free-space reserve that uploads may not enter, and the state /ready and /metrics report
   * (disk-space.ts; openStores adds it). Absent, writes are never refused for space.
   */
  space?: SpaceGuard & SpaceStatus;
  /** Resolves when both databases answer; else rejects with a DatabaseUnreachable naming the first that did not. */
  ping(): Promise<void>;
  /** Closes both databases, even when closing the first fails (rejecting with that failure then). */
  close(): Promise<void>;
}

/** Which database of Stores did not answer its ping, and why (`cause`, for the log). */
export class DatabaseUnreachable extends Error {
  override name = "DatabaseUnreachable";
  constructor(
    readonly database: "objects" | "keys",
    cause: unknown,
  ) {
    super(`the ${database} database does not answer`, { cause });
  }
}

export function combineStores(main: ObjectsDatabase, keys: KeysDatabase): Stores {
  return {
    objects: main.objects,
    buckets: main.buckets,
    multipart: main.multipart,
    accounts: main.accounts,
    jobs: main.jobs,
    audit: main.audit,
    keys: keys.keys,
    async ping() {
      for (const [name, db] of [
        ["objects", main],
        ["keys", keys],
      ] as const) {
        try {
          await db.ping();
        } catch (err) {
          throw new DatabaseUnreachable(name, err);
        }
      }
    },
    async close() {
      const closed = await Promise.allSettled([main.close(), keys.close()]);
      for (const c of closed) if (c.status === "rejected") throw c.reason;
    },
  };
}
