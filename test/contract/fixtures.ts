// What the contract suites share: the databases each adapter's runner opens (sqlite.test.ts,
// postgres.test.ts), fresh for every test, and records to store in them.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach } from "vitest";
import type { AccountStore } from "../../src/store/account-store.js";
import type { BucketStore } from "../../src/store/bucket-store.js";
import type { JobStore } from "../../src/store/job-store.js";
import type { MultipartStore } from "../../src/store/multipart-store.js";
import type { ObjectStore } from "../../src/store/object-store.js";
import type {
  AccessKeyRecord,
  JobRecord,
  KekVersionRecord,
  MultipartUploadRecord,
  ObjectMeta,
  PartRecord,
  TokenRecord,
  UserRecord,
} from "../../src/store/records.js";
import type { Database, KeysDatabase, ObjectsDatabase } from "../../src/store/stores.js";

/** The objects database, freshly opened: its ports share one connection. */
export interface ObjectsFixture {
  db: ObjectsDatabase;
  cleanup(): Promise<void>;
}

/** The ports of the objects database that each test opens afresh, and a user in it, `owner`. */
export interface FreshObjectsDatabase {
  readonly owner: string;
  readonly objects: ObjectStore;
  readonly buckets: BucketStore;
  readonly multipart: MultipartStore;
  readonly accounts: AccountStore;
  readonly jobs: JobStore;
  /** The database itself: ping and close. */
  readonly db: Database;
}

/**
 * The setup of the suites of the objects database's ports: before each test a freshly opened objects
 * database holding the user `owner`, closed after the test. The ports returned stand for the
 * current test's: every call goes to them.
 */
export function freshObjectsDatabase(factory: () => Promise<ObjectsFixture>): FreshObjectsDatabase {
  const user = newUser();
  let fx: ObjectsFixture | undefined;
  const db = (): ObjectsDatabase => {
    if (!fx) throw new Error("the objects database is open only while a test runs");
    return fx.db;
  };
  beforeEach(async () => {
    fx = await factory();
    await fx.db.accounts.createUser(user);
  });
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });
  return {
    owner: user.uid,
    objects: current(() => db().objects),
    buckets: current(() => db().buckets),
    multipart: current(() => db().multipart),
    accounts: current(() => db().accounts),
    jobs: current(() => db().jobs),
    db: current(db),
  };
}

/** A stand-in for the object `get` returns at the time of each call. */
function current<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      const target = get();
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The keys database, freshly opened. */
export interface KeysFixture {
  db: KeysDatabase;
  cleanup(): Promise<void>;
}

export const seg = (n: number, size = 64) => Buffer.alloc(size, n);

let uidCounter = 0;
export function newUser(overrides: Partial<UserRecord> = {}): UserRecord {
  uidCounter++;
  return {
    uid: `uid-${uidCounter}-${randomBytes(4).toString("hex")}`,
    name: `user${uidCounter}-${randomBytes(3).toString("hex")}`,
    role: "user",
    created: new Date(1_700_000_000_000),
    enrolledAt: null,
    ...overrides,
  };
}

export function newMeta(owner: string, id: string, overrides: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    owner,
    id,
    kind: "blob",
    size: 10,
    contentType: "application/octet-stream",
    etag: `"${randomBytes(8).toString("hex")}"`,
    created: new Date(1_700_000_001_000),
    modified: new Date(1_700_000_001_000),
    writeId: randomBytes(16),
    formatVersion: 1,
    suite: 1,
    segmentSize: 65536,
    kekVersion: 1,
    wrappedDek: randomBytes(72),
    sealedMeta: null,
    ...overrides,
  };
}

export function newUpload(
  owner: string,
  id: string,
  overrides: Partial<MultipartUploadRecord> = {},
): MultipartUploadRecord {
  return {
    uploadId: `up_${randomBytes(8).toString("hex")}`,
    owner,
    id,
    writeId: randomBytes(16),
    formatVersion: 2,
    suite: 1,
    segmentSize: 65536,
    kekVersion: 1,
    wrappedDek: randomBytes(72),
    contentType: "application/octet-stream",
    sealedMeta: randomBytes(90),
    created: new Date(1_700_000_004_000),
    ...overrides,
  };
}

export function newPart(uploadId: string, number: number, overrides: Partial<PartRecord> = {}): PartRecord {
  return {
    uploadId,
    number,
    writeId: randomBytes(16),
    size: 5 * 1024 * 1024,
    sealedInfo: randomBytes(80),
    created: new Date(1_700_000_005_000),
    ...overrides,
  };
}

export function newJob(owner: string, overrides: Partial<JobRecord> = {}): JobRecord {
  const at = new Date(1_700_000_002_000);
  return {
    id: `job-${randomBytes(6).toString("hex")}`,
    kind: "rewrap",
    owner,
    target: owner,
    state: "running",
    done: 0,
    total: 10,
    error: null,
    cursor: null,
    result: null,
    created: at,
    updated: at,
    ...overrides,
  };
}

export function newToken(uid: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id: `tok_${randomBytes(6).toString("hex")}`,
    uid,
    label: "laptop",
    scopes: ["read", "write"],
    secretHash: randomBytes(32),
    created: new Date(1_700_000_003_000),
    lastUsed: null,
    expiresAt: new Date(1_900_000_000_000),
    issuedBy: "admin",
    ...over,
  };
}

export function newAccessKey(uid: string, over: Partial<AccessKeyRecord> = {}): AccessKeyRecord {
  return {
    id: `SSEK${randomBytes(8).toString("hex").toUpperCase()}`,
    uid,
    label: "backup",
    scopes: ["read", "write"],
    kekVersion: 1,
    wrappedSecret: randomBytes(78),
    created: new Date(1_700_000_005_000),
    lastUsed: null,
    expiresAt: new Date(1_900_000_000_000),
    issuedBy: "admin",
    ...over,
  };
}

export function kek(owner: string, version: number, rootVersion = 1): KekVersionRecord {
  return {
    owner,
    version,
    rootVersion,
    wrappedKek: randomBytes(72),
    created: new Date(1_700_000_000_000 + version),
  };
}
