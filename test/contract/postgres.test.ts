import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AppError, DiskFullError, StorageUnavailableError } from "../../src/errors.js";
import {
  type ObjectsSchemaOptions,
  openKeysSchema,
  openObjectsSchema,
  openPostgresStores,
} from "../../src/store/postgres/open.js";
import { type Commit, PgDatabase } from "../../src/store/postgres/pg-database.js";
import { isRetryable, pgFault } from "../../src/store/postgres/pg-errors.js";
import type { MultipartUploadRecord, PartRecord } from "../../src/store/records.js";
import { SchemaVersionError } from "../../src/store/schema-version-error.js";
import { killWhenReady } from "../helpers/kill-when-ready.js";
import { adminQuery, createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { waitFor } from "../helpers/wait-for.js";
import { accountStoreContract } from "./accounts.contract.js";
import { expectSegments } from "./assertions.js";
import { auditStoreContract } from "./audit.contract.js";
import { bucketStoreContract } from "./buckets.contract.js";
import { kek, newMeta, newPart, newUpload, newUser, type ObjectsFixture } from "./fixtures.js";
import { jobStoreContract } from "./jobs.contract.js";
import { keyStoreContract } from "./keys.contract.js";
import { multipartStoreContract } from "./multipart.contract.js";
import { objectStoreContract } from "./objects.contract.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const freshSchema = () => `t_${randomBytes(6).toString("hex")}`;
const dropSchema = (schema: string) => adminQuery(db.url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);

async function objectsSchema(opts: ObjectsSchemaOptions = {}): Promise<ObjectsFixture> {
  const schema = freshSchema();
  // No grace period: the contract is about one process, whose own busy set is exact.
  const objectsDb = await openObjectsSchema(db.url, { schema, trashGraceMs: 0, ...opts });
  return {
    db: objectsDb,
    async cleanup() {
      await objectsDb.close();
      await dropSchema(schema);
    },
  };
}

objectStoreContract("postgres", () => objectsSchema());
bucketStoreContract("postgres", () => objectsSchema());
multipartStoreContract("postgres", () => objectsSchema());
accountStoreContract("postgres", () => objectsSchema());
jobStoreContract("postgres", () => objectsSchema());
auditStoreContract("postgres", () => objectsSchema());
// SSE_LIBRARY_SHORTCUTS without binary-copy: segments go through plain queries, same contract.
objectStoreContract("postgres, binary-copy off", () => objectsSchema({ binaryCopy: false }));
multipartStoreContract("postgres, binary-copy off", () => objectsSchema({ binaryCopy: false }));

keyStoreContract("postgres", async () => {
  const schema = freshSchema();
  const keysDb = await openKeysSchema(db.url, { schema });
  return {
    db: keysDb,
    async cleanup() {
      await keysDb.close();
      await dropSchema(schema);
    },
  };
});

describe("PostgreSQL stores", () => {
  let schema: string;
  const opened: { close(): Promise<void> }[] = [];
  /** A store as one server process would open it; closed after the test. */
  async function openObjects(opts: ObjectsSchemaOptions = {}) {
    const s = await openObjectsSchema(db.url, { schema, ...opts });
    opened.push(s);
    return s;
  }
  const sql = <R extends object = Record<string, unknown>>(text: string, values?: unknown[]) =>
    adminQuery<R>(db.url, text, values);

  beforeEach(() => {
    schema = freshSchema();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await dropSchema(schema);
  });

  describe("migrations", () => {
    it("run exactly once when many processes start together", async () => {
      const stores = await Promise.all(Array.from({ length: 6 }, () => openObjects()));
      expect(stores).toHaveLength(6);
      expect(await sql(`SELECT version, name FROM ${schema}.schema_migrations ORDER BY version`)).toEqual([
        { version: 1, name: "initial" },
        { version: 2, name: "job results" },
        { version: 3, name: "enrollment" },
        { version: 4, name: "access keys" },
        { version: 5, name: "s3 objects" },
        { version: 6, name: "audit log" },
      ]);
      // And again, later: nothing to do.
      await openObjects();
      expect(await sql(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`)).toEqual([{ n: 6 }]);
    });

    it("bring a schema of an older release up to date, keeping its data", async () => {
      const first = await openObjects();
      const user = newUser();
      await first.accounts.createUser(user);
      // A user that has used its token is enrolled by the upgrade; one that has not stays enrolling.
      const used = newUser();
      await first.accounts.createUser(used);
      const usedAt = new Date(1_700_000_050_000);
      await first.accounts.createToken({
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
      await first.close();
      // As release 1 left it: no job results, no enrollment yet.
      await sql(
        `ALTER TABLE ${schema}.jobs DROP COLUMN result;
         ALTER TABLE ${schema}.users DROP COLUMN enrolled_at;
         ALTER TABLE ${schema}.tokens DROP COLUMN issued_by;
         DROP TABLE ${schema}.access_keys, ${schema}.buckets, ${schema}.multipart_parts,
           ${schema}.multipart_uploads, ${schema}.object_parts, ${schema}.manifests,
           ${schema}.audit_events, ${schema}.audit_head;
         ALTER TABLE ${schema}.objects DROP COLUMN sealed_meta;
         DELETE FROM ${schema}.schema_migrations WHERE version >= 2`,
      );
      const upgraded = await openObjects();
      expect(await upgraded.accounts.getUserByUid(user.uid)).toEqual(user);
      expect((await upgraded.accounts.getUserByUid(used.uid))?.enrolledAt).toEqual(usedAt);
      expect(await sql(`SELECT max(version)::int AS v FROM ${schema}.schema_migrations`)).toEqual([{ v: 6 }]);
      expect(
        await sql(
          "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'jobs' AND column_name = 'result'",
          [schema],
        ),
      ).toHaveLength(1);
    });

    it("refuse a schema from a newer release, changing nothing", async () => {
      await openObjects();
      await sql(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES (7, 'future')`);
      await expect(openObjects()).rejects.toThrow(SchemaVersionError);
      await expect(openObjects()).rejects.toThrow(/has version 7, but this release only knows up to 6/);
      expect(await sql(`SELECT max(version)::int AS v FROM ${schema}.schema_migrations`)).toEqual([{ v: 7 }]);
    });

    it("refuse a schema holding someone else's tables", async () => {
      await sql(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (x int)`);
      await expect(openObjects()).rejects.toThrow(/holds tables that are not an SSE Store objects store/);
    });

    it("keys live in their own schema, or their own database", async () => {
      const logger = pino({ level: "silent" });
      let stores = await openPostgresStores(
        db.url,
        { keysDatabaseUrl: undefined, databasePoolSize: 2 },
        logger,
      );
      await stores.keys.createUserKey(
        { owner: "u", primaryVersion: 1, minDecryptionVersion: 1 },
        kek("u", 1),
      );
      await stores.close();
      const tables = await sql<{ schema: string; table: string }>(
        `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
         WHERE table_schema IN ('sse_objects', 'sse_keys') AND table_name IN ('objects', 'kek_versions')
         ORDER BY 1`,
      );
      expect(tables).toEqual([
        { schema: "sse_keys", table: "kek_versions" },
        { schema: "sse_objects", table: "objects" },
      ]);
      const keysDb = await createTestDatabase();
      try {
        stores = await openPostgresStores(
          db.url,
          { keysDatabaseUrl: keysDb.url, databasePoolSize: 2 },
          logger,
        );
        expect(await stores.keys.getUserKeyState("u")).toBeNull();
        await stores.keys.createUserKey(
          { owner: "v", primaryVersion: 1, minDecryptionVersion: 1 },
          kek("v", 1),
        );
        await stores.close();
        expect(await adminQuery(keysDb.url, "SELECT owner FROM sse_keys.user_keys")).toEqual([
          { owner: "v" },
        ]);
      } finally {
        await keysDb.drop();
        await sql("DROP SCHEMA sse_objects CASCADE; DROP SCHEMA sse_keys CASCADE");
      }
    });
  });

  describe("several processes on one database", () => {
    it("what one commits, another reads at once", async () => {
      const [a, b] = [await openObjects(), await openObjects()];
      const user = newUser();
      await a.accounts.createUser(user);
      const meta = newMeta(user.uid, "x");
      await a.objects.beginUpload(user.uid, "x", meta.writeId);
      await a.objects.appendSegments(meta.writeId, 0, [Buffer.alloc(65552, 1), Buffer.alloc(100, 2)]);
      await a.objects.commitObject(meta, {});
      expect(await b.objects.getObject(user.uid, "x")).toEqual(meta);
      expectSegments(await b.objects.readSegments(meta.writeId, 0, 5), [
        Buffer.alloc(65552, 1),
        Buffer.alloc(100, 2),
      ]);
    });

    it("exclusively holds off the same name in another process, even with a pool of one", async () => {
      const [a, b] = [await openObjects({ poolSize: 1 }), await openObjects({ poolSize: 1 })];
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let aDone = false;
      // `a` holds the lock and uses its only pooled connection meanwhile.
      const first = a.accounts.exclusively("user deletion", async () => {
        await held;
        await a.accounts.listUsers();
        aDone = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      const second = b.accounts.exclusively("user deletion", async () => aDone);
      // Another schema's lock of the same name is another lock.
      const other = await openObjectsSchema(db.url, { schema: `${schema}_other` });
      try {
        expect(await other.accounts.exclusively("user deletion", async () => "free")).toBe("free");
      } finally {
        await other.close();
        await dropSchema(`${schema}_other`);
      }
      release();
      await first;
      expect(await second).toBe(true);
    });

    it("exclusively: a lock lost with its connection fails confirm(), and frees the name for others", async () => {
      const [a, b] = [await openObjects(), await openObjects()];
      const outcome = a.accounts.exclusively("user deletion", async (held) => {
        await held.confirm();
        // The lock's own session dies, as when its connection drops.
        const [killed] = await adminQuery<{ n: string }>(
          db.url,
          `SELECT count(pg_terminate_backend(pid, 5000)) AS n FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        expect(Number(killed!.n)).toBe(1);
        // PostgreSQL released the lock with the session: another process gets it at once.
        expect(await b.accounts.exclusively("user deletion", async () => "b ran")).toBe("b ran");
        await held.confirm();
        return "confirmed";
      });
      await expect(outcome).rejects.toBeInstanceOf(StorageUnavailableError);
    });

    it("a replaced write outlives the grace period while another process still streams it", async () => {
      const fast = { heartbeatMs: 100, trashGraceMs: 300 };
      const [reader, writer] = [await openObjects(fast), await openObjects(fast)];
      const user = newUser();
      await writer.accounts.createUser(user);
      const old = newMeta(user.uid, "doc");
      await writer.objects.commitObject(old, {}, [Buffer.from("old")]);
      // The reader's object service starts streaming the old write…
      const reading = new Set([old.writeId.toString("hex")]);
      await reader.objects.reclaim(reading);
      // …when the writer replaces it and tries to reclaim it at once: the grace period holds it back.
      await writer.objects.commitObject(newMeta(user.uid, "doc"), {}, [Buffer.from("new")]);
      expect(await writer.objects.reclaim(new Set())).toBe(0);
      // The reader's heartbeat pins the trashed write; past the grace period it is still kept.
      await waitFor(
        "the reader's pin",
        async () => (await sql(`SELECT 1 FROM ${schema}.read_pins`)).length > 0,
      );
      await waitFor("the grace period to pass", async () => {
        const [r] = await sql<{ over: boolean }>(
          `SELECT now() > trashed_at + interval '300 milliseconds' AS over FROM ${schema}.trash`,
        );
        return r?.over;
      });
      expect(await writer.objects.reclaim(new Set())).toBe(0);
      expect(await reader.objects.readSegments(old.writeId, 0, 1)).toEqual([Buffer.from("old")]);
      // The stream ends: once the pin runs out, the write goes.
      reading.clear();
      await waitFor("the write to be reclaimed", async () => (await writer.objects.reclaim(new Set())) === 1);
      expect(await reader.objects.readSegments(old.writeId, 0, 1)).toEqual([]);
      expect(await sql(`SELECT * FROM ${schema}.read_pins`)).toEqual([]);
    });

    it("the sweep spares another live process's upload, however long it takes", async () => {
      const fast = { heartbeatMs: 100, uploadStaleMs: 300 };
      const [uploader, sweeper] = [await openObjects(fast), await openObjects(fast)];
      const user = newUser();
      await uploader.accounts.createUser(user);
      const meta = newMeta(user.uid, "slow");
      await uploader.objects.beginUpload(user.uid, "slow", meta.writeId);
      await uploader.objects.appendSegments(meta.writeId, 0, [Buffer.from("a")]);
      const [upload] = await sql<{ started: Date }>(`SELECT started FROM ${schema}.uploads`);
      const started = upload!.started;
      // Several staleness periods without a single append: the heartbeat keeps it alive.
      await waitFor("three staleness periods", async () => {
        const [r] = await sql<{ over: boolean }>(
          `SELECT now() > $1::timestamptz + interval '900 milliseconds' AS over`,
          [started],
        );
        expect(await sweeper.objects.sweepAbandonedUploads()).toBe(0);
        return r?.over;
      });
      await uploader.objects.appendSegments(meta.writeId, 1, [Buffer.from("b")]);
      await uploader.objects.commitObject(meta, {});
      expect(await sweeper.objects.readSegments(meta.writeId, 0, 5)).toEqual([
        Buffer.from("a"),
        Buffer.from("b"),
      ]);
    });

    it("uploads of a process killed with -9 are swept by another; what it committed stays", async () => {
      const user = newUser();
      const setup = await openObjects();
      await setup.accounts.createUser(user);
      const storeUrl = pathToFileURL(path.join(ROOT, "src/store/postgres/open.ts")).href;
      const dir = mkdtempSync(path.join(os.tmpdir(), "sse-pg-child-"));
      const script = path.join(dir, "child.mts");
      writeFileSync(
        script,
        `import { openObjectsSchema } from ${JSON.stringify(storeUrl)};
         const s = await openObjectsSchema(${JSON.stringify(db.url)}, { schema: ${JSON.stringify(schema)} });
         const w = (n) => Buffer.alloc(16, n);
         const meta = { owner: ${JSON.stringify(user.uid)}, id: "1", kind: "blob", size: 3, contentType: "x/y",
           etag: "e", created: new Date(1), modified: new Date(1), writeId: w(1), formatVersion: 1, suite: 1,
           segmentSize: 65536, kekVersion: 1, wrappedDek: w(9) };
         await s.objects.beginUpload(meta.owner, "1", w(1));
         await s.objects.appendSegments(w(1), 0, [Buffer.alloc(65552, 1), Buffer.alloc(65552, 2)]);
         await s.objects.commitObject(meta, {});
         await s.objects.beginUpload(meta.owner, "2", w(2));
         await s.objects.appendSegments(w(2), 0, [Buffer.alloc(65552, 3)]);
         process.stdout.write("ready\\n");
         setInterval(() => {}, 1000);`,
      );
      try {
        await killWhenReady(script);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      // Stale after 3 s: long enough that the first sweep below comes sooner on a loaded machine
      // (300 ms did not always), short enough for the test.
      const other = await openObjects({ heartbeatMs: 100, uploadStaleMs: 3000 });
      expect((await other.objects.getObject(user.uid, "1"))?.etag).toBe("e");
      expectSegments(await other.objects.readSegments(Buffer.alloc(16, 1), 0, 5), [
        Buffer.alloc(65552, 1),
        Buffer.alloc(65552, 2),
      ]);
      // Not at once (its writer might be alive), but once its heartbeat is stale.
      expect(await other.objects.sweepAbandonedUploads()).toBe(0);
      await waitFor(
        "the dead upload to be swept",
        async () => (await other.objects.sweepAbandonedUploads()) === 1,
      );
      expect(await other.objects.readSegments(Buffer.alloc(16, 2), 0, 5)).toEqual([]);
      expect(await sql(`SELECT * FROM ${schema}.uploads`)).toEqual([]);
      expect(await sql(`SELECT * FROM ${schema}.trash`)).toEqual([]);
    }, 30_000);

    it("changes of one multipart upload racing in two processes end with exactly one outcome", async () => {
      const [a, b] = [await openObjects(), await openObjects()];
      const user = newUser();
      await a.accounts.createUser(user);
      const code = (o: PromiseSettledResult<unknown>) =>
        o.status === "rejected" ? (o.reason as AppError).code : "ok";
      const part = async (up: MultipartUploadRecord, number: number, fill: number) => {
        const p = newPart(up.uploadId, number);
        await a.objects.beginUpload(user.uid, up.id, p.writeId);
        await a.objects.appendSegments(p.writeId, 0, [Buffer.alloc(100, fill)]);
        return p;
      };
      const begin = async (id: string) => {
        const up = newUpload(user.uid, id);
        await a.multipart.createMultipart(up);
        const p1 = await part(up, 1, 1);
        await a.multipart.commitPart(p1);
        return { up, p1, meta: newMeta(user.uid, id, { writeId: up.writeId, formatVersion: 2 }) };
      };
      const named = (p: PartRecord) => [{ number: p.number, writeId: p.writeId }];
      for (let round = 0; round < 5; round++) {
        // Complete against complete: one object, one not_found.
        const one = await begin(`cc${round}`);
        const cc = await Promise.allSettled([
          a.multipart.completeMultipart(one.up.uploadId, one.meta, named(one.p1), Buffer.from("a"), {}),
          b.multipart.completeMultipart(one.up.uploadId, one.meta, named(one.p1), Buffer.from("b"), {}),
        ]);
        expect(cc.map(code).sort()).toEqual(["not_found", "ok"]);
        const manifest = (await b.multipart.getManifest(one.up.writeId))?.toString();
        expect(manifest).toBe(cc[0]!.status === "fulfilled" ? "a" : "b");

        // Complete against abort: an object, or an aborted upload, never both.
        const two = await begin(`ca${round}`);
        const [done, aborted] = await Promise.allSettled([
          a.multipart.completeMultipart(two.up.uploadId, two.meta, named(two.p1), Buffer.from("m"), {}),
          b.multipart.abortMultipart(two.up.uploadId),
        ]);
        const completed = done.status === "fulfilled";
        expect(aborted).toEqual({ status: "fulfilled", value: !completed });
        if (!completed) expect(code(done)).toBe("not_found");
        expect((await b.objects.getObject(user.uid, `ca${round}`)) !== null).toBe(completed);
        expect(await b.multipart.getMultipart(two.up.uploadId)).toBeNull();

        // Complete against a retry of the part it names: one of them wins.
        const three = await begin(`cp${round}`);
        const retry = await part(three.up, 1, 2);
        const [completion, commit] = await Promise.allSettled([
          a.multipart.completeMultipart(three.up.uploadId, three.meta, named(three.p1), Buffer.from("m"), {}),
          b.multipart.commitPart(retry),
        ]);
        if (completion.status === "fulfilled") {
          expect(code(commit)).toBe("not_found");
          await a.objects.abortUpload(retry.writeId);
          expect(await b.objects.readSegments(three.p1.writeId, 0, 1)).toEqual([Buffer.alloc(100, 1)]);
        } else {
          expect(code(completion)).toBe("conflict");
          expect(commit.status).toBe("fulfilled");
          expect((await b.multipart.listParts(three.up.uploadId, 0, 10)).map((p) => p.writeId)).toEqual([
            retry.writeId,
          ]);
          expect(await b.objects.getObject(user.uid, `cp${round}`)).toBeNull();
        }
      }
      expect(await sql(`SELECT * FROM ${schema}.uploads`)).toEqual([]);
    });

    it("each job is claimed by exactly one of several processes", async () => {
      const stores = await Promise.all([openObjects(), openObjects(), openObjects()]);
      const user = newUser();
      await stores[0]!.accounts.createUser(user);
      const ids = Array.from({ length: 30 }, (_, i) => `job-${i}`);
      for (const [i, id] of ids.entries()) {
        await stores[0]!.jobs.createJob({
          id,
          kind: "test",
          owner: user.uid,
          target: null,
          state: "running",
          done: 0,
          total: 1,
          error: null,
          cursor: null,
          result: null,
          created: new Date(1_700_000_000_000 + i),
          updated: new Date(1_700_000_000_000 + i),
        });
      }
      const claimed = await Promise.all(
        stores.flatMap((s, n) =>
          [0, 1, 2, 3].map(async (k) => {
            const mine: string[] = [];
            for (;;) {
              const job = await s.jobs.claimJob(`worker-${n}-${k}`, 60_000);
              if (!job) return mine;
              mine.push(job.id);
            }
          }),
        ),
      );
      const all = claimed.flat();
      expect(all.sort()).toEqual([...ids].sort());
    });
  });

  describe("plumbing", () => {
    it("commits are durable whatever the server's default; appended segments are relaxed", async () => {
      await sql(`ALTER DATABASE ${db.name} SET synchronous_commit = off`);
      const pgdb = new PgDatabase({ url: db.url, schema, max: 2 });
      try {
        expect(await pgdb.query("SHOW synchronous_commit")).toEqual([{ synchronous_commit: "on" }]);
        const inTx = (commit: Commit) => pgdb.tx(commit, (q) => q.query("SHOW synchronous_commit"));
        expect(await inTx("durable")).toEqual([{ synchronous_commit: "on" }]);
        expect(await inTx("relaxed")).toEqual([{ synchronous_commit: "off" }]);
      } finally {
        await pgdb.close();
        await sql(`ALTER DATABASE ${db.name} RESET synchronous_commit`);
      }
    });

    it("retries a transaction that lost a serialization conflict", async () => {
      const pgdb = new PgDatabase({ url: db.url, schema: "public", max: 4 });
      try {
        const table = `skew_${randomBytes(4).toString("hex")}`;
        await pgdb.query(`CREATE TABLE ${table} (n int)`);
        let attempts = 0;
        let arrived = 0;
        let release!: () => void;
        const bothRead = new Promise<void>((r) => {
          release = r;
        });
        // Write skew: each reads the count, then inserts; under SERIALIZABLE one of them must fail.
        const run = (n: number) =>
          pgdb.tx("durable", async (q) => {
            attempts++;
            await q.query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
            await q.query(`SELECT count(*) FROM ${table}`);
            if (++arrived === 2) release();
            await bothRead;
            await q.query(`INSERT INTO ${table} VALUES ($1)`, [n]);
          });
        await Promise.all([run(1), run(2)]);
        // At least one retry; SSI may abort more than one attempt under load.
        expect(attempts).toBeGreaterThanOrEqual(3);
        expect(await pgdb.query(`SELECT n FROM ${table} ORDER BY n`)).toEqual([{ n: 1 }, { n: 2 }]);
        await pgdb.query(`DROP TABLE ${table}`);
      } finally {
        await pgdb.close();
      }
    });

    it("an unreachable database is StorageUnavailableError, without the URL or SQL in the detail", async () => {
      const url = `postgres://postgres:secret-pw@127.0.0.1:${await closedPort()}/nowhere`;
      const err = await openObjectsSchema(url, { schema }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as StorageUnavailableError).detail).not.toMatch(/secret|127\.0\.0\.1|SELECT/);
    });

    it("maps database failures to StorageUnavailableError, and nothing else", () => {
      const dbError = (code: string) => Object.assign(new pg.DatabaseError("boom", 0, "error"), { code });
      for (const code of [
        "08006",
        "57P01",
        "57P03",
        "53300",
        "53100",
        "58030",
        "XX000",
        "25006",
        "3D000",
        "28P01",
      ]) {
        const cause = dbError(code);
        const mapped = pgFault(cause);
        expect(mapped, code).toBeInstanceOf(StorageUnavailableError);
        expect(mapped?.cause).toBe(cause);
      }
      for (const code of ["23505", "23503", "42P01", "22P02", "40001"])
        expect(pgFault(dbError(code)), code).toBeNull();
      const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
      expect(pgFault(refused)).toBeInstanceOf(StorageUnavailableError);
      expect(pgFault(new Error("Connection terminated unexpectedly"))).toBeInstanceOf(
        StorageUnavailableError,
      );
      expect(pgFault(new Error("timeout exceeded when trying to connect"))).toBeInstanceOf(
        StorageUnavailableError,
      );
      expect(pgFault(new TypeError("x is not a function"))).toBeNull();
      // disk_full: 507 like a full disk under SQLite; the other insufficient-resources codes stay 503.
      expect(pgFault(dbError("53100"))).toBeInstanceOf(DiskFullError);
      expect(pgFault(dbError("53100"))?.status).toBe(507);
      expect(pgFault(dbError("53100"))?.detail).toMatch(/disk is full/);
      expect(pgFault(dbError("53300"))?.status).toBe(503);
      expect(isRetryable(dbError("40001"))).toBe(true);
      expect(isRetryable(dbError("40P01"))).toBe(true);
      expect(isRetryable(dbError("23505"))).toBe(false);
    });

    it("answers text PostgreSQL cannot store (NUL) as the client's mistake, never a fault", async () => {
      const store = await openObjects();
      for (const attempt of [
        () => store.accounts.getUserByName("a\u0000"),
        () => store.objects.listObjects("u", { prefix: "a\u0000", limit: 1 }),
        () => store.jobs.getJob("job_\u0000"),
      ]) {
        const err = await attempt().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe("bad_request");
      }
      await store.ping();
    });
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof addr === "object" && addr ? addr.port : 1;
}
