// What the contract suites share: records to store, the fixture each adapter's runner opens
// (sqlite.test.ts, postgres.test.ts), and the assertions they have in common.
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { AppError } from "../../src/errors.js";
import type {
  JobRecord,
  KekVersionRecord,
  ObjectMeta,
  TokenRecord,
  UserRecord,
} from "../../src/store/records.js";
import type { KeysDatabase, ObjectsDatabase } from "../../src/store/stores.js";

/** The objects database, freshly opened: its object, account and job ports share one connection. */
export interface ObjectsFixture {
  db: ObjectsDatabase;
  cleanup(): Promise<void>;
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

/** Compares segment lists by bytes (deep equality on large Buffers is slow). */
export function expectSegments(got: Buffer[], want: Buffer[]): void {
  expect(got.map((b) => b.length)).toEqual(want.map((b) => b.length));
  for (const [i, b] of got.entries()) expect(b.equals(want[i]!), `segment ${i} differs`).toBe(true);
}

/** Awaits a rejection and checks it is an AppError with this code (shared by the contract suites). */
export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with code ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
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

export function kek(owner: string, version: number, rootVersion = 1): KekVersionRecord {
  return {
    owner,
    version,
    rootVersion,
    wrappedKek: randomBytes(72),
    created: new Date(1_700_000_000_000 + version),
  };
}
