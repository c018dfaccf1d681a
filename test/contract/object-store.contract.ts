// The ObjectStore contract: every adapter runs this suite unchanged. It talks only to the port.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError, StorageUnavailableError } from "../../src/errors.js";
import { type AccountStore, UserOwnsObjects } from "../../src/store/account-store.js";
import type { JobStore } from "../../src/store/job-store.js";
import type { ObjectStore, WriteCondition } from "../../src/store/object-store.js";
import type { JobRecord, ObjectMeta, TokenRecord, UserRecord } from "../../src/store/records.js";
import type { ObjectsDatabase } from "../../src/store/stores.js";

export interface ObjectStoreFixture {
  /** The objects database, freshly opened: its ports share one connection. */
  db: ObjectsDatabase;
  cleanup(): Promise<void>;
}

const seg = (n: number, size = 64) => Buffer.alloc(size, n);

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

function newJob(owner: string, overrides: Partial<JobRecord> = {}): JobRecord {
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

export function objectStoreContract(name: string, factory: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fx: ObjectStoreFixture;
    let store: ObjectStore;
    let accounts: AccountStore;
    let jobs: JobStore;
    let owner: string;

    beforeEach(async () => {
      fx = await factory();
      ({ objects: store, accounts, jobs } = fx.db);
      const u = newUser();
      await accounts.createUser(u);
      owner = u.uid;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    /** A committed object whose data went through beginUpload/appendSegments. */
    async function putStreamed(
      id: string,
      segments: Buffer[],
      cond: WriteCondition = {},
      over: Partial<ObjectMeta> = {},
    ) {
      const meta = newMeta(over.owner ?? owner, id, over);
      await store.beginUpload(meta.owner, id, meta.writeId);
      for (let i = 0; i < segments.length; i += 2)
        await store.appendSegments(meta.writeId, i, segments.slice(i, i + 2));
      const res = await store.commitObject(meta, cond);
      return { meta, res };
    }

    async function putInline(id: string, over: Partial<ObjectMeta> = {}, cond: WriteCondition = {}) {
      const meta = newMeta(over.owner ?? owner, id, over);
      const res = await store.commitObject(meta, cond, [seg(1)]);
      return { meta, res };
    }

    describe("objects", () => {
      it("stores and returns every metadata field", async () => {
        const { meta, res } = await putInline("a/b.txt", {
          kind: "item",
          size: 1234,
          contentType: "text/plain",
        });
        expect(res.created).toBe(true);
        expect(res.createdAt.getTime()).toBe(meta.created.getTime());
        expect(await store.getObject(owner, "a/b.txt")).toEqual(meta);
        expect(await store.getObject(owner, "missing")).toBeNull();
      });

      it("getObjectForRead: the metadata, with the only segment of a small enough object", async () => {
        // One segment of 64 bytes (segmentSize 65536): inline up to the caller's limit.
        const { meta } = await putInline("small", { size: 48 });
        const read = await store.getObjectForRead(owner, "small", 4096);
        expect(read?.meta).toEqual(meta);
        expectSegments(read?.segment ? [read.segment] : [], [seg(1)]);
        // Larger than the limit, or more than one segment: metadata only.
        expect(await store.getObjectForRead(owner, "small", 47)).toEqual({ meta, segment: null });
        const big = await putStreamed("big", [seg(2, 80), seg(3, 40)], {}, { size: 100, segmentSize: 64 });
        expect(await store.getObjectForRead(owner, "big", 1 << 20)).toEqual({
          meta: big.meta,
          segment: null,
        });
        // An empty object is one sealed empty segment.
        const empty = newMeta(owner, "empty", { size: 0 });
        await store.commitObject(empty, {}, [Buffer.alloc(16, 9)]);
        expectSegments([(await store.getObjectForRead(owner, "empty", 0))!.segment!], [Buffer.alloc(16, 9)]);
        expect(await store.getObjectForRead(owner, "missing", 4096)).toBeNull();
        // Another owner's object of the same id is not it.
        expect(await store.getObjectForRead("nobody", "small", 4096)).toBeNull();
      });

      it("getObjectForRead hands out a segment the caller owns", async () => {
        await putInline("mine", { size: 48 });
        const first = await store.getObjectForRead(owner, "mine", 4096);
        first!.segment!.fill(0);
        expectSegments([(await store.getObjectForRead(owner, "mine", 4096))!.segment!], [seg(1)]);
      });

      it("keys objects by (owner, id)", async () => {
        const other = newUser();
        await accounts.createUser(other);
        await putInline("x", { size: 1 });
        await putInline("x", { owner: other.uid, size: 2 });
        expect((await store.getObject(owner, "x"))?.size).toBe(1);
        expect((await store.getObject(other.uid, "x"))?.size).toBe(2);
        expect((await store.listObjects(other.uid, { limit: 10 })).map((m) => m.id)).toEqual(["x"]);
      });

      it("stores sizes beyond 4 GiB exactly", async () => {
        await putInline("big", { size: 5 * 1024 ** 3 + 7 });
        expect((await store.getObject(owner, "big"))?.size).toBe(5 * 1024 ** 3 + 7);
      });

      it("replacing keeps the first created, takes the new modified, and reports created=false", async () => {
        const first = await putInline("r");
        const later = new Date(1_800_000_000_000);
        const { meta, res } = await putInline("r", { created: later, modified: later, size: 99 });
        expect(res.created).toBe(false);
        expect(res.createdAt.getTime()).toBe(first.meta.created.getTime());
        const got = await store.getObject(owner, "r");
        expect(got?.created.getTime()).toBe(first.meta.created.getTime());
        expect(got?.modified.getTime()).toBe(later.getTime());
        expect(got?.writeId.equals(meta.writeId)).toBe(true);
        expect(got?.size).toBe(99);
      });

      it("rejects an owner that does not exist", async () => {
        await expectCode(store.commitObject(newMeta("no-such-user", "x"), {}, [seg(1)]), "not_found");
        await expectCode(store.beginUpload("no-such-user", "x", randomBytes(16)), "not_found");
      });
    });

    describe("exclusively", () => {
      it("confirms the exclusion it holds", async () => {
        expect(
          await accounts.exclusively("x", async (held) => {
            await held.confirm();
            return "held";
          }),
        ).toBe("held");
      });

      it("runs callers of one name one at a time; other names do not wait; errors pass through", async () => {
        const log: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        const first = accounts.exclusively("x", async () => {
          log.push("first in");
          await held;
          log.push("first out");
          return 1;
        });
        await new Promise((r) => setTimeout(r, 50));
        // Settled into a value at once: it may fail before the test gets to look at it.
        const second = accounts
          .exclusively("x", async () => {
            log.push("second");
            throw new Error("boom");
          })
          .then(
            () => null,
            (err: unknown) => err,
          );
        const third = accounts.exclusively("x", async () => {
          log.push("third");
          return 3;
        });
        // Another name runs at once, and may use the store meanwhile.
        expect(
          await accounts.exclusively("y", async () => (await accounts.listUsers()).length),
        ).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 50));
        expect(log).toEqual(["first in"]);
        release();
        expect(await first).toBe(1);
        expect(await second).toEqual(new Error("boom"));
        expect(await third).toBe(3);
        // The waiters run after the holder (in which order among themselves is not promised).
        expect(log.slice(0, 2)).toEqual(["first in", "first out"]);
        expect(log.slice(2).sort()).toEqual(["second", "third"]);
      });
    });

    describe("write conditions", () => {
      it("ifNoneMatch fails when the object exists and changes nothing", async () => {
        const first = await putInline("c");
        await expectCode(putInline("c", {}, { ifNoneMatch: true }), "precondition_failed");
        expect(await store.getObject(owner, "c")).toEqual(first.meta);
        const { res } = await putInline("new", {}, { ifNoneMatch: true });
        expect(res.created).toBe(true);
      });

      it("concurrent commits: a failing condition fails alone, racing creators of one id get one winner", async () => {
        await putInline("taken");
        const results = await Promise.allSettled([
          putInline("free-1", {}, { ifNoneMatch: true }),
          putInline("taken", {}, { ifNoneMatch: true }),
          putInline("free-2", {}, { ifNoneMatch: true }),
          ...Array.from({ length: 6 }, () => putInline("race", {}, { ifNoneMatch: true })),
        ]);
        expect(results.map((r) => r.status).slice(0, 3)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect(results.slice(3).filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results)
          if (r.status === "rejected")
            expect((r.reason as { code?: string }).code).toBe("precondition_failed");
        expect(await store.getObject(owner, "free-1")).not.toBeNull();
        expect(await store.getObject(owner, "free-2")).not.toBeNull();
      });

      it("ifMatch needs an existing object whose etag is listed, or '*'", async () => {
        await expectCode(putInline("m", {}, { ifMatch: ["*"] }), "precondition_failed");
        expect(await store.getObject(owner, "m")).toBeNull();
        const first = await putInline("m");
        await expectCode(putInline("m", {}, { ifMatch: ['"nope"'] }), "precondition_failed");
        await expectCode(putInline("m", {}, { ifMatch: [] }), "precondition_failed");
        expect(await store.getObject(owner, "m")).toEqual(first.meta);
        const second = await putInline("m", {}, { ifMatch: ['"other"', first.meta.etag] });
        expect(second.res.created).toBe(false);
        const third = await putInline("m", {}, { ifMatch: ["*"] });
        expect((await store.getObject(owner, "m"))?.etag).toBe(third.meta.etag);
      });

      it("a failed precondition keeps the upload's segments until abortUpload", async () => {
        await putInline("p");
        const meta = newMeta(owner, "p");
        await store.beginUpload(owner, "p", meta.writeId);
        await store.appendSegments(meta.writeId, 0, [seg(1), seg(2)]);
        await expectCode(store.commitObject(meta, { ifNoneMatch: true }), "precondition_failed");
        expect(await store.readSegments(meta.writeId, 0, 10)).toHaveLength(2);
        await store.abortUpload(meta.writeId);
        expect(await store.readSegments(meta.writeId, 0, 10)).toEqual([]);
        expect(await store.sweepAbandonedUploads()).toBe(0);
      });
    });

    describe("concurrent commits of one id", () => {
      const racers = 8;

      it("ifNoneMatch: exactly one creates the object, every other fails its precondition", async () => {
        const metas = await Promise.all(
          Array.from({ length: racers }, async () => {
            const meta = newMeta(owner, "race");
            await store.beginUpload(owner, "race", meta.writeId);
            await store.appendSegments(meta.writeId, 0, [seg(1)]);
            return meta;
          }),
        );
        const outcomes = await Promise.allSettled(
          metas.map((m) => store.commitObject(m, { ifNoneMatch: true })),
        );
        const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === "rejected") {
            expect(o.reason).toBeInstanceOf(AppError);
            expect((o.reason as AppError).code).toBe("precondition_failed");
          }
        }
        const got = await store.getObject(owner, "race");
        expect(got?.writeId.equals(metas[won[0]!]!.writeId)).toBe(true);
        for (const [i, m] of metas.entries()) if (i !== won[0]) await store.abortUpload(m.writeId);
        expect(await store.readSegments(got!.writeId, 0, 5)).toEqual([seg(1)]);
        expect(await store.sweepAbandonedUploads()).toBe(0);
      });

      it("unconditional: one creates, the others replace, and every replaced write is reclaimed", async () => {
        const uploads = await Promise.all(
          Array.from({ length: racers }, async () => {
            const meta = newMeta(owner, "race2");
            await store.beginUpload(owner, "race2", meta.writeId);
            await store.appendSegments(meta.writeId, 0, [seg(2), seg(3)]);
            return meta;
          }),
        );
        const results = await Promise.all(uploads.map((m) => store.commitObject(m, {})));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const firstCreated = results.find((r) => r.created)!.createdAt.getTime();
        for (const r of results) expect(r.createdAt.getTime()).toBe(firstCreated);
        const current = await store.getObject(owner, "race2");
        const winner = uploads.find((m) => m.writeId.equals(current!.writeId));
        expect(winner).toBeDefined();
        expect(await store.reclaim(new Set())).toBe(racers - 1);
        for (const m of uploads) {
          const segs = await store.readSegments(m.writeId, 0, 5);
          expect(segs).toHaveLength(m === winner ? 2 : 0);
        }
        expect(await store.sweepAbandonedUploads()).toBe(0);
      });
    });

    describe("listing", () => {
      const ids = ["10", "2", "-5", "0", "abc", "007", "-0", "a/b", "B", "9007199254740993", "1e3", "1"];
      const ordered = ["-5", "0", "1", "2", "10", "-0", "007", "1e3", "9007199254740993", "B", "a/b", "abc"];
      const list = async (opts: { after?: string; prefix?: string; limit?: number }) =>
        (await store.listObjects(owner, { limit: 100, ...opts })).map((m) => m.id);

      beforeEach(async () => {
        for (const id of ids) await putInline(id);
      });

      it("puts canonical integers first, numerically, then the rest bytewise", async () => {
        expect(await list({})).toEqual(ordered);
        const full = await store.listObjects(owner, { limit: 1 });
        expect(full[0]?.wrappedDek).toBeInstanceOf(Buffer);
      });

      it("`after` is exclusive and crosses from numbers to strings", async () => {
        expect(await list({ after: "2" })).toEqual(ordered.slice(4));
        expect(await list({ after: "10" })).toEqual(ordered.slice(5));
        expect(await list({ after: "3" })).toEqual(ordered.slice(4));
        expect(await list({ after: "-100" })).toEqual(ordered);
        expect(await list({ after: "1e3" })).toEqual(["9007199254740993", "B", "a/b", "abc"]);
        expect(await list({ after: "B" })).toEqual(["a/b", "abc"]);
        expect(await list({ after: "abc" })).toEqual([]);
      });

      it("pages with `limit` reproduce the full order", async () => {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await list({ after, limit: 5 });
          seen.push(...page);
          if (page.length < 5) break;
          after = page[page.length - 1];
        }
        expect(seen).toEqual(ordered);
        expect(await list({ limit: 0 })).toEqual([]);
      });

      it("filters by prefix, in list order", async () => {
        expect(await list({ prefix: "a" })).toEqual(["a/b", "abc"]);
        expect(await list({ prefix: "1" })).toEqual(["1", "10", "1e3"]);
        expect(await list({ prefix: "-" })).toEqual(["-5", "-0"]);
        expect(await list({ prefix: "0" })).toEqual(["0", "007"]);
        expect(await list({ prefix: "1", after: "1" })).toEqual(["10", "1e3"]);
        expect(await list({ prefix: "1", after: "10" })).toEqual(["1e3"]);
        expect(await list({ prefix: "zz" })).toEqual([]);
        expect(await list({ prefix: "" })).toEqual(ordered);
      });

      it("`after` may be a position past a folder (the folder prefix and \\x7f), as GET /objects uses", async () => {
        expect(await list({ after: "a/\x7f" })).toEqual(["abc"]);
        expect(await list({ prefix: "a", after: "a/\x7f" })).toEqual(["abc"]);
        expect(await list({ after: "\x7f" })).toEqual([]);
      });

      it("maxIntegerId is the greatest canonical integer, or null", async () => {
        expect(await store.maxIntegerId(owner)).toBe(10);
        const other = newUser();
        await accounts.createUser(other);
        expect(await store.maxIntegerId(other.uid)).toBeNull();
        await putInline("abc", { owner: other.uid });
        await putInline("9007199254740993", { owner: other.uid });
        expect(await store.maxIntegerId(other.uid)).toBeNull();
        await putInline("-7", { owner: other.uid });
        await putInline("-3", { owner: other.uid });
        expect(await store.maxIntegerId(other.uid)).toBe(-3);
        await putInline("9007199254740991", { owner: other.uid });
        expect(await store.maxIntegerId(other.uid)).toBe(9007199254740991);
      });

      it("deleted objects leave the list", async () => {
        expect(await store.deleteObject(owner, "10")).toBe(true);
        expect(await store.deleteObject(owner, "abc")).toBe(true);
        expect(await list({})).toEqual(ordered.filter((id) => id !== "10" && id !== "abc"));
        expect(await store.maxIntegerId(owner)).toBe(2);
      });
    });

    describe("uploads and segments", () => {
      it("streams segments in and reads them back by index range", async () => {
        const segments = [seg(0, 65552), seg(1, 65552), seg(2, 65552), seg(3, 65552), seg(4, 100)];
        const { meta, res } = await putStreamed("s", segments);
        expect(res.created).toBe(true);
        expectSegments(await store.readSegments(meta.writeId, 0, 5), segments);
        expectSegments(await store.readSegments(meta.writeId, 1, 2), segments.slice(1, 3));
        expectSegments(await store.readSegments(meta.writeId, 3, 10), segments.slice(3));
        expect(await store.readSegments(meta.writeId, 5, 1)).toEqual([]);
        expect(await store.readSegments(randomBytes(16), 0, 1)).toEqual([]);
      });

      it("keeps no reference to appended buffers: the writer may reuse them at once", async () => {
        const segments = [seg(3, 65552), seg(4, 65552), seg(5, 65552), seg(6, 77)];
        const meta = newMeta(owner, "reused");
        await store.beginUpload(owner, "reused", meta.writeId);
        const scratch = [Buffer.alloc(65552), Buffer.alloc(65552)];
        for (let i = 0; i < segments.length; i += 2) {
          const pair = segments.slice(i, i + 2).map((s, j) => {
            const b = scratch[j]!.subarray(0, s.length);
            s.copy(b);
            return b;
          });
          await store.appendSegments(meta.writeId, i, pair);
          // Overwritten before the next append, as the upload path does.
          for (const b of scratch) b.fill(0xaa);
        }
        await store.commitObject(meta, {});
        expectSegments(await store.readSegments(meta.writeId, 0, 4), segments);
      });

      it("hands out segment buffers the caller owns: overwriting one changes nothing stored", async () => {
        const segments = [seg(7, 65552), seg(8, 65552), seg(9, 300)];
        const { meta } = await putStreamed("owned", segments);
        const first = await store.readSegments(meta.writeId, 0, 3);
        // Readers decrypt in place; neither the store nor a later read may see those bytes.
        for (const b of first) b.fill(0xee);
        expectSegments(await store.readSegments(meta.writeId, 0, 3), segments);
        const again = await Promise.all([
          store.readSegments(meta.writeId, 0, 3),
          store.readSegments(meta.writeId, 1, 2),
        ]);
        again[0][1]!.fill(0);
        expectSegments(again[1], segments.slice(1));
      });

      it("commits inline segments with the object", async () => {
        const meta = newMeta(owner, "i");
        await store.commitObject(meta, {}, [seg(7), seg(8)]);
        expect(await store.readSegments(meta.writeId, 0, 5)).toEqual([seg(7), seg(8)]);
      });

      it("uncommitted segments are invisible through the object until commit", async () => {
        const old = await putInline("v");
        const meta = newMeta(owner, "v");
        await store.beginUpload(owner, "v", meta.writeId);
        await store.appendSegments(meta.writeId, 0, [seg(9)]);
        expect((await store.getObject(owner, "v"))?.writeId.equals(old.meta.writeId)).toBe(true);
        await store.commitObject(meta, {});
        expect((await store.getObject(owner, "v"))?.writeId.equals(meta.writeId)).toBe(true);
      });

      it("abortUpload drops the segments at once and leaves the old object", async () => {
        const old = await putInline("ab");
        const meta = newMeta(owner, "ab");
        await store.beginUpload(owner, "ab", meta.writeId);
        await store.appendSegments(meta.writeId, 0, [seg(1), seg(2), seg(3)]);
        await store.abortUpload(meta.writeId);
        expect(await store.readSegments(meta.writeId, 0, 10)).toEqual([]);
        expect(await store.getObject(owner, "ab")).toEqual(old.meta);
        await expectCode(store.appendSegments(meta.writeId, 3, [seg(4)]), "conflict");
        await expectCode(store.commitObject(meta, {}), "conflict");
        expect(await store.readSegments(meta.writeId, 0, 10)).toEqual([]);
      });

      it("refuses segments for an upload that was never begun", async () => {
        const w = randomBytes(16);
        await expectCode(store.appendSegments(w, 0, [seg(1)]), "conflict");
        expect(await store.readSegments(w, 0, 1)).toEqual([]);
      });

      it("the sweep leaves uploads of this instance alone", async () => {
        const meta = newMeta(owner, "live");
        await store.beginUpload(owner, "live", meta.writeId);
        await store.appendSegments(meta.writeId, 0, [seg(1)]);
        expect(await store.sweepAbandonedUploads()).toBe(0);
        await store.appendSegments(meta.writeId, 1, [seg(2)]);
        await store.commitObject(meta, {});
        expect(await store.readSegments(meta.writeId, 0, 5)).toEqual([seg(1), seg(2)]);
      });
    });

    describe("reclaiming replaced and deleted writes", () => {
      it("a replaced write stays readable until reclaimed, and busy writes are spared", async () => {
        const old = await putStreamed("t", [seg(1), seg(2), seg(3)]);
        const next = await putStreamed("t", [seg(4)]);
        expect(await store.readSegments(old.meta.writeId, 0, 5)).toHaveLength(3);
        const busy = new Set([old.meta.writeId.toString("hex")]);
        expect(await store.reclaim(busy)).toBe(0);
        expect(await store.readSegments(old.meta.writeId, 0, 5)).toHaveLength(3);
        expect(await store.reclaim(new Set())).toBe(1);
        expect(await store.readSegments(old.meta.writeId, 0, 5)).toEqual([]);
        expect(await store.readSegments(next.meta.writeId, 0, 5)).toEqual([seg(4)]);
        expect(await store.reclaim(new Set())).toBe(0);
      });

      it("deleteObject removes the row and hands its write to the reclaimer", async () => {
        const { meta } = await putStreamed("d", [seg(1), seg(2)]);
        expect(await store.deleteObject(owner, "d")).toBe(true);
        expect(await store.getObject(owner, "d")).toBeNull();
        expect(await store.deleteObject(owner, "d")).toBe(false);
        expect(await store.readSegments(meta.writeId, 0, 5)).toHaveLength(2);
        expect(await store.reclaim(new Set())).toBe(1);
        expect(await store.readSegments(meta.writeId, 0, 5)).toEqual([]);
      });

      it("deleteObject honours its condition", async () => {
        const { meta } = await putInline("dc");
        await expectCode(store.deleteObject(owner, "dc", { ifMatch: ['"stale"'] }), "precondition_failed");
        await expectCode(store.deleteObject(owner, "nope", { ifMatch: ["*"] }), "precondition_failed");
        expect(await store.getObject(owner, "dc")).not.toBeNull();
        expect(await store.reclaim(new Set())).toBe(0);
        expect(await store.deleteObject(owner, "dc", { ifMatch: [meta.etag] })).toBe(true);
      });

      it("reclaims many segments of a large write", async () => {
        const many = Array.from({ length: 600 }, (_, i) => seg(i % 256, 32));
        const meta = newMeta(owner, "many");
        await store.beginUpload(owner, "many", meta.writeId);
        await store.appendSegments(meta.writeId, 0, many);
        await store.commitObject(meta, {});
        await store.deleteObject(owner, "many");
        expect(await store.reclaim(new Set())).toBe(1);
        expect(await store.readSegments(meta.writeId, 0, 600)).toEqual([]);
      });
    });

    describe("key bookkeeping", () => {
      it("objectKeyInfo pages through an owner's objects bytewise by id", async () => {
        const metas = new Map<string, ObjectMeta>();
        for (const id of ["2", "10", "b", "a"]) metas.set(id, (await putInline(id)).meta);
        const page1 = await store.objectKeyInfo(owner, null, 3);
        expect(page1.map((k) => k.id)).toEqual(["10", "2", "a"]);
        const page2 = await store.objectKeyInfo(owner, "a", 3);
        expect(page2.map((k) => k.id)).toEqual(["b"]);
        const b = metas.get("b")!;
        expect(page2[0]).toEqual({
          id: "b",
          writeId: b.writeId,
          kekVersion: b.kekVersion,
          wrappedDek: b.wrappedDek,
        });
      });

      it("updateWrappedDek only moves the write it was given", async () => {
        const { meta } = await putInline("k");
        const dek = randomBytes(72);
        expect(await store.updateWrappedDek(owner, "k", meta.writeId, 2, dek)).toBe(true);
        const got = await store.getObject(owner, "k");
        expect(got?.kekVersion).toBe(2);
        expect(got?.wrappedDek.equals(dek)).toBe(true);
        await putInline("k");
        expect(await store.updateWrappedDek(owner, "k", meta.writeId, 3, dek)).toBe(false);
        expect((await store.getObject(owner, "k"))?.kekVersion).toBe(1);
        expect(await store.updateWrappedDek(owner, "gone", meta.writeId, 3, dek)).toBe(false);
      });

      it("updateWrappedDeks moves a batch in one go, skipping replaced and deleted objects", async () => {
        const a = (await putInline("a")).meta;
        const b = (await putInline("b")).meta;
        const c = (await putInline("c")).meta;
        const other = newUser();
        await accounts.createUser(other);
        const theirs = (await putInline("a", { owner: other.uid })).meta;
        await putInline("b"); // replaced: its write id changed
        await store.deleteObject(owner, "c");
        const deks = [randomBytes(72), randomBytes(72), randomBytes(72), randomBytes(72)];
        const n = await store.updateWrappedDeks(owner, [
          { id: "a", writeId: a.writeId, kekVersion: 5, wrappedDek: deks[0]! },
          { id: "b", writeId: b.writeId, kekVersion: 5, wrappedDek: deks[1]! },
          { id: "c", writeId: c.writeId, kekVersion: 5, wrappedDek: deks[2]! },
          // Another owner's object is never touched, even with its write id.
          { id: "a", writeId: theirs.writeId, kekVersion: 5, wrappedDek: deks[3]! },
        ]);
        expect(n).toBe(1);
        const got = await store.getObject(owner, "a");
        expect(got?.kekVersion).toBe(5);
        expect(got?.wrappedDek.equals(deks[0]!)).toBe(true);
        expect(got?.writeId.equals(a.writeId)).toBe(true);
        expect((await store.getObject(owner, "b"))?.kekVersion).toBe(1);
        expect((await store.getObject(other.uid, "a"))?.kekVersion).toBe(1);
        expect(await store.updateWrappedDeks(owner, [])).toBe(0);
      });

      it("updateWrappedDeks handles a thousand objects at once", async () => {
        const metas = [];
        for (let i = 0; i < 1000; i++) metas.push((await putInline(`o${i}`)).meta);
        const n = await store.updateWrappedDeks(
          owner,
          metas.map((m) => ({ id: m.id, writeId: m.writeId, kekVersion: 2, wrappedDek: randomBytes(72) })),
        );
        expect(n).toBe(1000);
        expect(await store.countByKekVersion(owner)).toEqual(new Map([[2, 1000]]));
      });

      it("countByKekVersion counts objects per version", async () => {
        await putInline("a", { kekVersion: 1 });
        await putInline("b", { kekVersion: 2 });
        await putInline("c", { kekVersion: 2 });
        expect(await store.countByKekVersion(owner)).toEqual(
          new Map([
            [1, 1],
            [2, 2],
          ]),
        );
        expect(await store.countByKekVersion("nobody")).toEqual(new Map());
      });
    });

    describe("users and tokens", () => {
      const token = (uid: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
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
      });

      it("creates, finds and lists users; names are unique", async () => {
        const u = newUser({ role: "admin" });
        await accounts.createUser(u);
        expect(await accounts.getUserByName(u.name)).toEqual(u);
        expect(await accounts.getUserByUid(u.uid)).toEqual(u);
        expect(await accounts.getUserByName("nobody")).toBeNull();
        expect(await accounts.getUserByUid("nobody")).toBeNull();
        expect(await accounts.countUsers()).toBe(2);
        expect((await accounts.listUsers()).map((x) => x.uid).sort()).toEqual([owner, u.uid].sort());
        await expectCode(accounts.createUser(newUser({ name: u.name })), "user_exists");
        expect(await accounts.countUsers()).toBe(2);
      });

      it("stores tokens with their fields and touches lastUsed", async () => {
        const t = token(owner);
        await accounts.createToken(t);
        expect(await accounts.getToken(t.id)).toEqual(t);
        const bare = token(owner, { label: null, scopes: [], expiresAt: null });
        await accounts.createToken(bare);
        expect(await accounts.getToken(bare.id)).toEqual(bare);
        expect((await accounts.listTokens(owner)).map((x) => x.id).sort()).toEqual([t.id, bare.id].sort());
        const at = new Date(1_700_000_009_000);
        await accounts.touchToken(t.id, at);
        expect((await accounts.getToken(t.id))?.lastUsed?.getTime()).toBe(at.getTime());
        expect(await accounts.getToken("nope")).toBeNull();
        await expectCode(accounts.createToken(token("no-such-user")), "not_found");
      });

      it("finds a token with its user in one lookup, and neither once the user is gone", async () => {
        const u = newUser({ role: "admin" });
        await accounts.createUser(u);
        const t = token(u.uid, { lastUsed: new Date(1_700_000_004_000) });
        await accounts.createToken(t);
        expect(await accounts.getTokenWithUser(t.id)).toEqual({ token: t, user: u });
        expect(await accounts.getTokenWithUser("nope")).toBeNull();
        await accounts.deleteToken(u.uid, t.id);
        expect(await accounts.getTokenWithUser(t.id)).toBeNull();
        const again = token(u.uid);
        await accounts.createToken(again);
        await accounts.deleteUser(u.uid);
        expect(await accounts.getTokenWithUser(again.id)).toBeNull();
      });

      it("records enrollment once, and keeps issuedBy", async () => {
        const u = newUser();
        await accounts.createUser(u);
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt).toBeNull();
        const first = token(u.uid, { issuedBy: "root" });
        await accounts.createToken(first, { onlyWhileEnrolling: true });
        expect((await accounts.getToken(first.id))?.issuedBy).toBe("root");
        const at = new Date(1_700_000_010_000);
        await accounts.markEnrolled(u.uid, at);
        await accounts.markEnrolled(u.uid, new Date(1_700_000_020_000));
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt?.getTime()).toBe(at.getTime());
        expect((await accounts.getTokenWithUser(first.id))?.user.enrolledAt?.getTime()).toBe(at.getTime());
        const late = token(u.uid);
        await expectCode(accounts.createToken(late, { onlyWhileEnrolling: true }), "enrolled");
        expect(await accounts.getToken(late.id)).toBeNull();
        // The user's own tokens need no such check.
        await accounts.createToken(late);
        expect(await accounts.getToken(late.id)).not.toBeNull();
        await expectCode(
          accounts.createToken(token("no-such-user"), { onlyWhileEnrolling: true }),
          "not_found",
        );
      });

      it("resetUser revokes every token, unenrolls and stores the one new token, atomically", async () => {
        const u = newUser({ enrolledAt: new Date(1_700_000_010_000) });
        await accounts.createUser(u);
        const other = newUser();
        await accounts.createUser(other);
        const keep = token(other.uid);
        await accounts.createToken(keep);
        const old = [token(u.uid), token(u.uid, { scopes: ["read"] })];
        for (const t of old) await accounts.createToken(t);
        const fresh = token(u.uid, { issuedBy: "reset" });
        expect(await accounts.resetUser(u.uid, fresh)).toBe(2);
        for (const t of old) expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.listTokens(u.uid)).toEqual([fresh]);
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt).toBeNull();
        expect(await accounts.getToken(keep.id)).not.toBeNull();
        expect(await accounts.resetUser("no-such-user", token("no-such-user"))).toBeNull();
        // A token id another user holds fails the whole reset: nothing is revoked.
        const second = token(u.uid);
        await accounts.createToken(second);
        await expect(accounts.resetUser(u.uid, token(u.uid, { id: keep.id }))).rejects.toThrow();
        expect(await accounts.getToken(second.id)).not.toBeNull();
      });

      it("deletes a token only for its own user", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const t = token(owner);
        await accounts.createToken(t);
        expect(await accounts.deleteToken(other.uid, t.id)).toBe(false);
        expect(await accounts.deleteToken(owner, t.id)).toBe(true);
        expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.deleteToken(owner, t.id)).toBe(false);
      });

      it("deleteOwnerObjects, then deleteUser: the user, its tokens, objects, segments and uploads go, nothing else", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const keep = await putStreamed("keep", [seg(1)], {}, { owner: other.uid });
        const otherToken = token(other.uid);
        await accounts.createToken(otherToken);

        const t = token(owner);
        await accounts.createToken(t);
        const obj = await putStreamed("o", [seg(1), seg(2)]);
        const replaced = await putStreamed("o", [seg(3)]);
        const item = await putInline("1");
        const up = newMeta(owner, "up");
        await store.beginUpload(owner, "up", up.writeId);
        await store.appendSegments(up.writeId, 0, [seg(5)]);

        // Objects refer to their owner: the user goes only once they are gone, and a refusal changes nothing.
        await expect(accounts.deleteUser(owner)).rejects.toBeInstanceOf(UserOwnsObjects);
        expect(await accounts.getToken(t.id)).not.toBeNull();
        await store.deleteOwnerObjects(owner);
        expect(await accounts.getUserByUid(owner)).not.toBeNull();
        expect(await accounts.deleteUser(owner)).toBe(true);
        expect(await accounts.getUserByUid(owner)).toBeNull();
        expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.listTokens(owner)).toEqual([]);
        expect(await store.getObject(owner, "o")).toBeNull();
        expect(await store.listObjects(owner, { limit: 10 })).toEqual([]);
        expect(await store.maxIntegerId(owner)).toBeNull();
        for (const w of [replaced.meta.writeId, item.meta.writeId, up.writeId]) {
          expect(await store.readSegments(w, 0, 5)).toEqual([]);
        }
        await expectCode(store.appendSegments(up.writeId, 1, [seg(6)]), "conflict");
        // The write replaced before the deletion still goes through the reclaimer.
        await store.reclaim(new Set());
        expect(await store.readSegments(obj.meta.writeId, 0, 5)).toEqual([]);

        expect(await accounts.getUserByUid(other.uid)).not.toBeNull();
        expect(await accounts.getToken(otherToken.id)).not.toBeNull();
        expect(await store.readSegments(keep.meta.writeId, 0, 5)).toEqual([seg(1)]);
        // Both steps are idempotent: a retry after a crash finishes the deletion.
        await store.deleteOwnerObjects(owner);
        expect(await accounts.deleteUser(owner)).toBe(false);
        expect(await accounts.countUsers()).toBe(1);
      });
    });

    describe("jobs", () => {
      it("creates, reads and patches jobs", async () => {
        const job = newJob(owner);
        await jobs.createJob(job);
        expect(await jobs.getJob(job.id)).toEqual(job);
        expect(await jobs.getJob("nope")).toBeNull();
        await jobs.updateJob(job.id, { done: 4, cursor: "abc" });
        let got = await jobs.getJob(job.id);
        expect(got).toMatchObject({ state: "running", done: 4, total: 10, cursor: "abc", error: null });
        expect(got!.updated.getTime()).toBeGreaterThan(job.updated.getTime());
        await jobs.updateJob(job.id, { state: "failed", error: "boom", cursor: null });
        got = await jobs.getJob(job.id);
        expect(got).toMatchObject({ state: "failed", done: 4, error: "boom", cursor: null });
        expect(got!.created.getTime()).toBe(job.created.getTime());
        await expectCode(jobs.createJob(job), "conflict");
      });

      it("keeps a job's result, and patches it apart from the other fields", async () => {
        const job = newJob(owner, { result: '{"damaged":[]}' });
        await jobs.createJob(job);
        expect((await jobs.getJob(job.id))?.result).toBe('{"damaged":[]}');
        await jobs.updateJob(job.id, { done: 1 });
        expect((await jobs.getJob(job.id))?.result).toBe('{"damaged":[]}');
        const big = JSON.stringify({
          damaged: Array.from({ length: 1000 }, (_, i) => ({ id: `x${i}`, error: "e" })),
        });
        await jobs.updateJob(job.id, { result: big, state: "done" });
        expect(await jobs.getJob(job.id)).toMatchObject({ result: big, state: "done", done: 1 });
        await jobs.updateJob(job.id, { result: null });
        expect((await jobs.getJob(job.id))?.result).toBeNull();
      });

      it("a lease given back (renewJobLease with -1) can be claimed at once", async () => {
        const job = newJob(owner);
        await jobs.createJob(job);
        expect((await jobs.claimJob("w1", 60_000))?.id).toBe(job.id);
        expect(await jobs.renewJobLease(job.id, "w1", -1)).toBe(true);
        expect((await jobs.claimJob("w2", 60_000))?.id).toBe(job.id);
      });

      it("claimJob hands a running job to one worker at a time", async () => {
        expect(await jobs.claimJob("w1", 60_000)).toBeNull();
        const job = newJob(owner);
        await jobs.createJob(job);
        await jobs.createJob(newJob(owner, { state: "done" }));
        await jobs.createJob(newJob(owner, { state: "failed" }));
        const claimed = await jobs.claimJob("w1", 60_000);
        expect(claimed?.id).toBe(job.id);
        expect(await jobs.claimJob("w2", 60_000)).toBeNull();
        expect(await jobs.renewJobLease(job.id, "w2", 60_000)).toBe(false);
        expect(await jobs.renewJobLease(job.id, "w1", 60_000)).toBe(true);
      });

      it("an expired lease can be taken over; the old worker then loses it", async () => {
        const job = newJob(owner);
        await jobs.createJob(job);
        // A lease that ended in the past stands for a worker that died.
        expect((await jobs.claimJob("w1", -1000))?.id).toBe(job.id);
        expect((await jobs.claimJob("w2", 60_000))?.id).toBe(job.id);
        expect(await jobs.renewJobLease(job.id, "w1", 60_000)).toBe(false);
        expect(await jobs.claimJob("w3", 60_000)).toBeNull();
        await jobs.updateJob(job.id, { state: "done" });
        expect(await jobs.renewJobLease(job.id, "w2", 60_000)).toBe(false);
      });
    });

    describe("lifecycle", () => {
      it("pings, and reports StorageUnavailableError once closed", async () => {
        await fx.db.ping();
        await fx.db.close();
        await expect(fx.db.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store.getObject(owner, "x")).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store.commitObject(newMeta(owner, "x"), {}, [seg(1)])).rejects.toBeInstanceOf(
          StorageUnavailableError,
        );
        await fx.db.close();
      });
    });
  });
}
