import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiskFullError, StorageUnavailableError } from "../../src/errors.js";
import { BackgroundCheckpointer } from "../../src/store/sqlite/background-checkpoint.js";
import { SchemaVersionError, storageFault } from "../../src/store/sqlite/migrations.js";
import { openKeysFile, openObjectsFile, openSqliteStores } from "../../src/store/sqlite/open.js";
import { killWhenReady } from "../helpers/kill-when-ready.js";
import { accountStoreContract } from "./accounts.contract.js";
import { expectSegments } from "./assertions.js";
import { auditStoreContract } from "./audit.contract.js";
import { bucketStoreContract } from "./buckets.contract.js";
import { kek, newMeta, newUser, type ObjectsFixture } from "./fixtures.js";
import { jobStoreContract } from "./jobs.contract.js";
import { keyStoreContract } from "./keys.contract.js";
import { multipartStoreContract } from "./multipart.contract.js";
import { objectStoreContract } from "./objects.contract.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tempDir = () => mkdtempSync(path.join(os.tmpdir(), "sse-sqlite-"));

async function objectsFile(): Promise<ObjectsFixture> {
  const dir = tempDir();
  const db = openObjectsFile(path.join(dir, "objects.db"));
  return {
    db,
    async cleanup() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

objectStoreContract("sqlite", objectsFile);
bucketStoreContract("sqlite", objectsFile);
multipartStoreContract("sqlite", objectsFile);
accountStoreContract("sqlite", objectsFile);
jobStoreContract("sqlite", objectsFile);
auditStoreContract("sqlite", objectsFile);

keyStoreContract("sqlite", async () => {
  const dir = tempDir();
  const db = openKeysFile(path.join(dir, "keys.db"));
  return {
    db,
    async cleanup() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("SQLite stores", () => {
  let dir: string;
  const objectsDb = () => path.join(dir, "objects.db");
  const keysDb = () => path.join(dir, "keys.db");
  /** A plain connection for inspecting the files, as an operator would. */
  const raw = (file: string) => new Database(file);

  beforeEach(() => {
    dir = path.join(tempDir(), "data");
  });
  afterEach(() => {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it("creates the data dir 0700 with objects.db and keys.db (0600) in WAL mode", async () => {
    await openSqliteStores(dir).close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of [objectsDb(), keysDb()]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const o = raw(objectsDb());
    expect(o.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(o.pragma("page_size", { simple: true })).toBe(16384);
    o.close();
    const k = raw(keysDb());
    expect(k.pragma("journal_mode", { simple: true })).toBe("wal");
    k.close();
  });

  it("gives objects.db a 2 MiB page cache unless SSE_SQLITE_CACHE_MIB says otherwise", async () => {
    // better-sqlite3 builds with 16 MiB, which one large upload fills and the process keeps.
    let stores = openSqliteStores(dir);
    expect(stores.pageCacheKib).toBe(2048);
    await stores.close();
    stores = openSqliteStores(dir, { cacheMib: 64 });
    expect(stores.pageCacheKib).toBe(65536);
    await stores.close();
    expect(() => openSqliteStores(dir, { cacheMib: 0 })).toThrow(RangeError);
  });

  it("applies migrations once; reopening changes nothing", async () => {
    for (let i = 0; i < 3; i++) await openSqliteStores(dir).close();
    const applied = (f: string) => {
      const db = raw(f);
      try {
        return db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
      } finally {
        db.close();
      }
    };
    expect(applied(objectsDb())).toEqual([
      { version: 1, name: "initial" },
      { version: 2, name: "job results" },
      { version: 3, name: "enrollment" },
      { version: 4, name: "access keys" },
      { version: 5, name: "s3 objects" },
      { version: 6, name: "audit log" },
      { version: 7, name: "named locks" },
    ]);
    expect(applied(keysDb())).toEqual([{ version: 1, name: "initial" }]);
  });

  it("keeps everything across close and reopen", async () => {
    let { objects, accounts, keys, close } = openSqliteStores(dir);
    const user = newUser();
    await accounts.createUser(user);
    const meta = newMeta(user.uid, "42");
    await objects.beginUpload(user.uid, "42", meta.writeId);
    await objects.appendSegments(meta.writeId, 0, [Buffer.from("one"), Buffer.from("two")]);
    await objects.commitObject(meta, {});
    const old = newMeta(user.uid, "r");
    await objects.commitObject(old, {}, [Buffer.from("old")]);
    await objects.commitObject(newMeta(user.uid, "r"), {}, [Buffer.from("new")]);
    const v1 = kek(user.uid, 1);
    await keys.createUserKey({ owner: user.uid, primaryVersion: 1, minDecryptionVersion: 1 }, v1);
    await close();

    ({ objects, accounts, keys, close } = openSqliteStores(dir));
    expect(await accounts.getUserByUid(user.uid)).toEqual(user);
    expect(await objects.getObject(user.uid, "42")).toEqual(meta);
    expect(await objects.readSegments(meta.writeId, 0, 5)).toEqual([Buffer.from("one"), Buffer.from("two")]);
    expect(await objects.maxIntegerId(user.uid)).toBe(42);
    expect(await keys.getKekVersion(user.uid, 1)).toEqual(v1);
    // The trash outlives a restart too: the replaced write is still reclaimed.
    expect(await objects.readSegments(old.writeId, 0, 1)).toEqual([Buffer.from("old")]);
    expect(await objects.reclaim(new Set())).toBe(1);
    expect(await objects.readSegments(old.writeId, 0, 1)).toEqual([]);
    await close();
  });

  it("upgrades a database of the release before enrollment: used tokens mean enrolled", async () => {
    let stores = openSqliteStores(dir);
    const fresh = newUser();
    const used = newUser();
    await stores.accounts.createUser(fresh);
    await stores.accounts.createUser(used);
    const usedAt = new Date(1_700_000_050_000);
    await stores.accounts.createToken({
      id: "0123456789abcdef",
      uid: used.uid,
      label: null,
      scopes: ["read"],
      secretHash: Buffer.alloc(32),
      created: new Date(1_700_000_040_000),
      lastUsed: usedAt,
      expiresAt: null,
      issuedBy: null,
    });
    await stores.close();
    const db = raw(objectsDb());
    db.exec(`ALTER TABLE users DROP COLUMN enrolled_at; ALTER TABLE tokens DROP COLUMN issued_by;
             DROP TABLE access_keys; DROP TABLE buckets; DROP TABLE multipart_parts;
             DROP TABLE multipart_uploads; DROP TABLE object_parts; DROP TABLE manifests;
             DROP TABLE audit_events; DROP TABLE audit_head;
             ALTER TABLE objects DROP COLUMN sealed_meta;
             DROP TABLE locks; DELETE FROM schema_migrations WHERE version >= 3;`);
    db.close();
    stores = openSqliteStores(dir);
    expect(await stores.accounts.getUserByUid(fresh.uid)).toEqual(fresh);
    expect((await stores.accounts.getUserByUid(used.uid))?.enrolledAt).toEqual(usedAt);
    expect((await stores.accounts.getToken("0123456789abcdef"))?.issuedBy).toBeNull();
    await stores.close();
  });

  it("refuses a database whose schema is newer than this release", async () => {
    await openSqliteStores(dir).close();
    const db = raw(objectsDb());
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (8, 'future', 0)").run();
    db.close();
    expect(() => openObjectsFile(objectsDb())).toThrow(SchemaVersionError);
    expect(() => openObjectsFile(objectsDb())).toThrow(
      /schema version 8, but this release only knows up to 7/,
    );
    // Refused without touching it.
    const again = raw(objectsDb());
    expect(again.prepare("SELECT max(version) FROM schema_migrations").pluck().get()).toBe(8);
    again.close();
  });

  it("refuses swapped or foreign files", async () => {
    await openSqliteStores(dir).close();
    expect(() => openObjectsFile(keysDb())).toThrow(/not an SSE Store objects database/);
    expect(() => openKeysFile(objectsDb())).toThrow(/not an SSE Store keys database/);
    const foreign = path.join(dir, "other.db");
    const db = raw(foreign);
    db.exec("CREATE TABLE t (x)");
    db.close();
    expect(() => openObjectsFile(foreign)).toThrow(SchemaVersionError);
  });

  it("a fresh instance sweeps uploads that never committed, and their segments", async () => {
    let db = openObjectsFile(objectsDb());
    const user = newUser();
    await db.accounts.createUser(user);
    let objects = db.objects;
    const done = newMeta(user.uid, "done");
    await objects.beginUpload(user.uid, "done", done.writeId);
    await objects.appendSegments(done.writeId, 0, [Buffer.from("a")]);
    await objects.commitObject(done, {});
    const lost = [randomBytes(16), randomBytes(16)];
    for (const w of lost) {
      await objects.beginUpload(user.uid, "lost", w);
      await objects.appendSegments(w, 0, [Buffer.from("x"), Buffer.from("y")]);
    }
    await db.close();

    db = openObjectsFile(objectsDb());
    objects = db.objects;
    expect(await objects.sweepAbandonedUploads()).toBe(2);
    for (const w of lost) expect(await objects.readSegments(w, 0, 5)).toEqual([]);
    expect(await objects.readSegments(done.writeId, 0, 5)).toEqual([Buffer.from("a")]);
    expect(await objects.sweepAbandonedUploads()).toBe(0);
    await db.close();
  });

  it("survives kill -9: what commitObject resolved is there, the open upload is swept", async () => {
    const script = path.join(path.dirname(dir), "child.mts");
    const storeUrl = pathToFileURL(path.join(ROOT, "src/store/sqlite/open.ts")).href;
    writeFileSync(
      script,
      `import { openObjectsFile } from ${JSON.stringify(storeUrl)};
       const db = openObjectsFile(${JSON.stringify(objectsDb())});
       const s = db.objects;
       const w = (n) => Buffer.alloc(16, n);
       await db.accounts.createUser({ uid: "u", name: "u", role: "user", created: new Date(0) });
       const meta = { owner: "u", id: "1", kind: "blob", size: 3, contentType: "x/y", etag: "e", created: new Date(1),
         modified: new Date(1), writeId: w(1), formatVersion: 1, suite: 1, segmentSize: 65536, kekVersion: 1, wrappedDek: w(9) };
       await s.beginUpload("u", "1", w(1));
       await s.appendSegments(w(1), 0, [Buffer.alloc(65552, 1), Buffer.alloc(65552, 2)]);
       await s.commitObject(meta, {});
       await s.beginUpload("u", "2", w(2));
       await s.appendSegments(w(2), 0, [Buffer.alloc(65552, 3)]);
       process.stdout.write("ready\\n");
       setInterval(() => {}, 1000);`,
    );
    await killWhenReady(script);

    const db = openObjectsFile(objectsDb());
    const { objects } = db;
    expect((await objects.getObject("u", "1"))?.etag).toBe("e");
    expectSegments(await objects.readSegments(Buffer.alloc(16, 1), 0, 5), [
      Buffer.alloc(65552, 1),
      Buffer.alloc(65552, 2),
    ]);
    expect(await objects.sweepAbandonedUploads()).toBe(1);
    expect(await objects.readSegments(Buffer.alloc(16, 2), 0, 5)).toEqual([]);
    await db.close();
  }, 30_000);

  it("kill -9 at each step of a blob write: before its seal, after it, after the commit, mid-append, and a file no row names", async () => {
    const storeUrl = pathToFileURL(path.join(ROOT, "src/store/sqlite/open.ts")).href;
    const blobsUrl = pathToFileURL(path.join(ROOT, "src/store/files/blob-files.ts")).href;
    const dataDir = path.dirname(objectsDb());
    const w = (n: number) => Buffer.alloc(16, n);
    const seg = (n: number) => Buffer.alloc(65552, n);
    const steps = {
      // Segments written, nothing fsync'd, the upload registered: swept whole at the next start.
      appended: `await db.objects.beginUpload("u", "a", w(1));
                 await db.objects.appendSegments(w(1), 0, [seg(1), seg(2)]);`,
      // Data and directory fsync'd, the commit not made: no object, the upload swept.
      sealed: `await db.objects.beginUpload("u", "s", w(2));
               await blobs.append(w(2), 0, [seg(3), seg(4)]);
               await blobs.seal(w(2));`,
      // Committed: the object is there, whole.
      committed: `await db.objects.beginUpload("u", "c", w(3));
                  await db.objects.appendSegments(w(3), 0, [seg(5), seg(6)]);
                  await db.objects.commitObject(meta("c", w(3)), {});`,
      // A blob whose upload row never reached the disk (a power cut after the file was created).
      orphan: `await blobs.append(w(4), 0, [seg(7)]);
               await blobs.seal(w(4));`,
      // Killed while the segments stream in.
      streaming: `await db.objects.beginUpload("u", "m", w(5));
                  let i = 0;
                  await db.objects.appendSegments(w(5), i, [seg(8)]); i++;
                  (async () => { for (;;) { await db.objects.appendSegments(w(5), i, [seg(8)]); i++; } })();`,
    };
    for (const [step, code] of Object.entries(steps)) {
      const script = path.join(path.dirname(dir), `child-${step}.mts`);
      writeFileSync(
        script,
        `import { openObjectsFile } from ${JSON.stringify(storeUrl)};
         import { FileBlobStore } from ${JSON.stringify(blobsUrl)};
         const db = openObjectsFile(${JSON.stringify(objectsDb())});
         const blobs = FileBlobStore.open(${JSON.stringify(dataDir)});
         const w = (n) => Buffer.alloc(16, n);
         const seg = (n) => Buffer.alloc(65552, n);
         const meta = (id, writeId) => ({ owner: "u", id, kind: "blob", size: 131072, contentType: "x/y", etag: "e",
           created: new Date(1), modified: new Date(1), writeId, formatVersion: 1, suite: 1, segmentSize: 65536,
           kekVersion: 1, wrappedDek: w(9) });
         if (!(await db.accounts.getUserByUid("u")))
           await db.accounts.createUser({ uid: "u", name: "u", role: "user", created: new Date(0) });
         ${code}
         process.stdout.write("ready\\n");
         setInterval(() => {}, 1000);`,
      );
      await killWhenReady(script);
    }
    const blobFile = (n: number) => {
      const name = w(n).toString("hex");
      return path.join(dataDir, "blobs", name.slice(-2), name);
    };
    // Before any sweep: the files are all there, and one of them is named by nothing.
    for (const n of [1, 2, 3, 4, 5]) expect(existsSync(blobFile(n)), `blob ${n}`).toBe(true);
    const db = openObjectsFile(objectsDb());
    const { objects } = db;
    expect(await objects.orphanedBlobs()).toEqual({ count: 1, bytes: statSync(blobFile(4)).size });
    // The start's sweep: the uploads that never committed and the orphan go, the committed write stays.
    expect(await objects.sweepAbandonedUploads()).toBe(4);
    for (const n of [1, 2, 4, 5]) expect(existsSync(blobFile(n)), `blob ${n}`).toBe(false);
    for (const id of ["a", "s", "m"]) expect(await objects.getObject("u", id)).toBeNull();
    expect((await objects.getObject("u", "c"))?.etag).toBe("e");
    expectSegments(await objects.readSegments(w(3), 0, 5), [seg(5), seg(6)]);
    expect(await objects.orphanedBlobs()).toEqual({ count: 0, bytes: 0 });
    await db.close();
  }, 60_000);

  it("survives kill -9 mid-multipart: committed parts, the completed object and its manifest stay; the open part write is swept", async () => {
    const script = path.join(path.dirname(dir), "child.mts");
    const storeUrl = pathToFileURL(path.join(ROOT, "src/store/sqlite/open.ts")).href;
    writeFileSync(
      script,
      `import { openObjectsFile } from ${JSON.stringify(storeUrl)};
       const db = openObjectsFile(${JSON.stringify(objectsDb())});
       const w = (n) => Buffer.alloc(16, n);
       await db.accounts.createUser({ uid: "u", name: "u", role: "user", created: new Date(0) });
       const upload = (uploadId, id, writeId) => ({ uploadId, owner: "u", id, writeId, formatVersion: 2, suite: 1,
         segmentSize: 65536, kekVersion: 1, wrappedDek: w(9), contentType: "x/y", sealedMeta: w(8), created: new Date(1) });
       const part = async (uploadId, id, number, writeId, fill) => {
         await db.objects.beginUpload("u", id, writeId);
         await db.objects.appendSegments(writeId, 0, [Buffer.alloc(65552, fill)]);
         await db.multipart.commitPart({ uploadId, number, writeId, size: 65536, sealedInfo: w(7), created: new Date(1) });
       };
       await db.multipart.createMultipart(upload("done", "a", w(1)));
       await part("done", "a", 1, w(2), 2);
       await part("done", "a", 2, w(3), 3);
       await db.multipart.completeMultipart("done", { owner: "u", id: "a", kind: "blob", size: 131072, contentType: "x/y",
         etag: "e", created: new Date(1), modified: new Date(1), writeId: w(1), formatVersion: 2, suite: 1,
         segmentSize: 65536, kekVersion: 1, wrappedDek: w(9), sealedMeta: w(8) },
         [{ number: 1, writeId: w(2) }, { number: 2, writeId: w(3) }], Buffer.from("manifest"), {});
       await db.multipart.createMultipart(upload("open", "b", w(4)));
       await part("open", "b", 1, w(5), 5);
       await db.objects.beginUpload("u", "b", w(6));
       await db.objects.appendSegments(w(6), 0, [Buffer.alloc(65552, 6)]);
       process.stdout.write("ready\\n");
       setInterval(() => {}, 1000);`,
    );
    await killWhenReady(script);

    const db = openObjectsFile(objectsDb());
    const w = (n: number) => Buffer.alloc(16, n);
    expect((await db.objects.getObject("u", "a"))?.sealedMeta).toEqual(w(8));
    expect(await db.multipart.getManifest(w(1))).toEqual(Buffer.from("manifest"));
    expectSegments(await db.objects.readSegments(w(2), 0, 5), [Buffer.alloc(65552, 2)]);
    expectSegments(await db.objects.readSegments(w(3), 0, 5), [Buffer.alloc(65552, 3)]);
    expect((await db.multipart.listParts("open", 0, 10)).map((p) => p.writeId)).toEqual([w(5)]);
    // Only the part write that never committed was abandoned.
    expect(await db.objects.sweepAbandonedUploads()).toBe(1);
    expect(await db.objects.readSegments(w(6), 0, 5)).toEqual([]);
    expectSegments(await db.objects.readSegments(w(5), 0, 5), [Buffer.alloc(65552, 5)]);
    expect(await db.objects.reclaim(new Set())).toBe(0);
    await db.close();
  }, 30_000);

  it("reports a checkpointer that cannot work, and still stops", async () => {
    const errors: string[] = [];
    const missing = path.join(dir, "no-such-dir", "objects.db");
    const checkpointer = new BackgroundCheckpointer(missing, {
      failed: (m) => errors.push(m),
      recovered: () => undefined,
    });
    const deadline = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(errors.join("\n")).toMatch(/directory does not exist|unable to open/i);
    // Its thread is gone already: stopping must not wait for an exit that has happened.
    await checkpointer.stop();
  });

  it("copies the WAL into objects.db in the background and keeps it bounded", async () => {
    const db = openObjectsFile(objectsDb());
    const { objects } = db;
    const user = newUser();
    await db.accounts.createUser(user);
    // Small objects' segments are committed inline, through the WAL (larger writes go to blobs).
    const chunk = Array.from({ length: 16 }, () => randomBytes(65552));
    for (let i = 0; i < 32; i++) await objects.commitObject(newMeta(user.uid, `o${i}`), {}, chunk); // 32 MiB
    // Below the main connection's 256 MiB backstop, only the worker thread can have copied it.
    const deadline = Date.now() + 20_000;
    while (statSync(objectsDb()).size < 32 * 1024 * 1024) {
      if (Date.now() > deadline) throw new Error("the background checkpoint never copied the upload");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(statSync(`${objectsDb()}-wal`).size).toBeLessThan(300 * 1024 * 1024);
    await db.close();
    // The last connection's final checkpoint leaves no WAL behind.
    expect(existsSync(`${objectsDb()}-wal`) ? statSync(`${objectsDb()}-wal`).size : 0).toBe(0);
  });

  it("destroyUserKeys leaves no copy of the wrapped key in keys.db or its WAL", async () => {
    let db = openKeysFile(keysDb());
    const checkpointed = kek("alice", 1);
    await db.keys.createUserKey({ owner: "alice", primaryVersion: 1, minDecryptionVersion: 1 }, checkpointed);
    await db.close(); // the last close checkpoints it into keys.db
    db = openKeysFile(keysDb());
    const { keys } = db;
    const inWal = kek("alice", 2);
    await keys.addKekVersion(inWal);
    const bob = kek("bob", 1);
    await keys.createUserKey({ owner: "bob", primaryVersion: 1, minDecryptionVersion: 1 }, bob);
    const onDisk = () =>
      Buffer.concat([keysDb(), `${keysDb()}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    expect(onDisk().includes(checkpointed.wrappedKek)).toBe(true);
    expect(onDisk().includes(inWal.wrappedKek)).toBe(true);

    await keys.destroyUserKeys("alice");
    const bytes = onDisk();
    expect(bytes.includes(checkpointed.wrappedKek)).toBe(false);
    expect(bytes.includes(inWal.wrappedKek)).toBe(false);
    expect(bytes.includes(bob.wrappedKek)).toBe(true);
    expect(await keys.getKekVersion("bob", 1)).toEqual(bob);
    await db.close();
  });

  it("retireKekVersionsBelow leaves no copy of the retired versions in keys.db or its WAL", async () => {
    const db = openKeysFile(keysDb());
    const { keys } = db;
    const v1 = kek("alice", 1);
    const v2 = kek("alice", 2);
    await keys.createUserKey({ owner: "alice", primaryVersion: 1, minDecryptionVersion: 1 }, v1);
    await keys.addKekVersion(v2);
    const onDisk = () =>
      Buffer.concat([keysDb(), `${keysDb()}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    expect(onDisk().includes(v1.wrappedKek)).toBe(true);
    await keys.retireKekVersionsBelow("alice", 2);
    expect(onDisk().includes(v1.wrappedKek)).toBe(false);
    expect(onDisk().includes(v2.wrappedKek)).toBe(true);
    await db.close();
  });

  it("a job lease held when the file was last open is free on the next open", async () => {
    let db = openObjectsFile(objectsDb());
    const user = newUser();
    await db.accounts.createUser(user);
    const at = new Date();
    const job = {
      id: "j1",
      kind: "rewrap",
      owner: user.uid,
      target: user.uid,
      state: "running" as const,
      done: 0,
      total: 1,
      error: null,
      cursor: null,
      result: null,
      created: at,
      updated: at,
    };
    await db.jobs.createJob(job);
    expect((await db.jobs.claimJob("dead-worker", 3_600_000))?.id).toBe("j1");
    expect(await db.jobs.claimJob("other", 3_600_000)).toBeNull();
    await db.close();
    db = openObjectsFile(objectsDb());
    expect((await db.jobs.claimJob("next-worker", 60_000))?.id).toBe("j1");
    await db.close();
  });

  it("maps database failures to StorageUnavailableError without SQL or paths in the detail", () => {
    for (const code of [
      "SQLITE_BUSY",
      "SQLITE_IOERR_WRITE",
      "SQLITE_FULL",
      "SQLITE_LOCKED",
      "SQLITE_CORRUPT",
    ]) {
      const cause = new Database.SqliteError(`database is locked: /secret/path SELECT * FROM x`, code);
      const mapped = storageFault(cause);
      expect(mapped).toBeInstanceOf(StorageUnavailableError);
      expect(mapped?.detail).not.toMatch(/secret|SELECT/);
      expect(mapped?.cause).toBe(cause);
    }
    expect(
      storageFault(new Database.SqliteError("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE")),
    ).toBeNull();
    expect(storageFault(new Error("other"))).toBeNull();
  });

  it("maps a full disk (SQLITE_FULL, ENOSPC, EDQUOT) to DiskFullError: 507 insufficient_storage, saying the disk is full", () => {
    for (const cause of [
      new Database.SqliteError("database or disk is full", "SQLITE_FULL"),
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }),
      Object.assign(new Error("EDQUOT: disk quota exceeded, write"), { code: "EDQUOT" }),
    ]) {
      const mapped = storageFault(cause);
      expect(mapped, cause.message).toBeInstanceOf(DiskFullError);
      expect(mapped).toBeInstanceOf(StorageUnavailableError);
      expect(mapped?.status).toBe(507);
      expect(mapped?.code).toBe("insufficient_storage");
      expect(mapped?.detail).toMatch(/disk is full/);
      expect(mapped?.cause).toBe(cause);
    }
    const io = storageFault(new Database.SqliteError("disk I/O error", "SQLITE_IOERR_WRITE"));
    expect(io?.code).toBe("storage_unavailable");
  });

  it("reports an unusable file as StorageUnavailableError", () => {
    const bad = path.join(path.dirname(dir), "garbage.db");
    writeFileSync(bad, randomBytes(8192));
    expect(() => openObjectsFile(bad)).toThrow(StorageUnavailableError);
  });
});
