// The ObjectStore contract: every adapter runs this suite unchanged. It talks only to the ports
// (the account port creates the owners objects refer to).
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { AppError, StorageUnavailableError } from "../../src/errors.js";
import type { WriteCondition } from "../../src/store/object-store.js";
import type { ObjectMeta } from "../../src/store/records.js";
import { expectCode, expectSegments } from "./assertions.js";
import { freshObjectsDatabase, newMeta, newUser, type ObjectsFixture, seg } from "./fixtures.js";

export function objectStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const { owner, objects: store, accounts, db } = freshObjectsDatabase(factory);

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

      it("keeps a write's sealed metadata record through every read, and replaces it with the write", async () => {
        const sealed = randomBytes(300);
        const { meta: inline } = await putInline("sealed/inline", { size: 48, sealedMeta: sealed });
        const { meta: streamed } = await putStreamed(
          "sealed/streamed",
          [seg(1), seg(2)],
          {},
          {
            sealedMeta: randomBytes(40),
          },
        );
        const plain = await putInline("sealed/plain");
        expect(plain.meta.sealedMeta).toBeNull();
        expect((await store.getObject(owner, "sealed/inline"))?.sealedMeta?.equals(sealed)).toBe(true);
        expect(await store.getObject(owner, "sealed/streamed")).toEqual(streamed);
        expect((await store.getObjectForRead(owner, "sealed/inline", 4096))?.meta).toEqual(inline);
        expect((await store.getObjectForRead(owner, "sealed/streamed", 0))?.meta).toEqual(streamed);
        expect(await store.listObjects(owner, { prefix: "sealed/", limit: 10 })).toEqual([
          inline,
          plain.meta,
          streamed,
        ]);
        // A replacing write brings its own record, or none.
        await putInline("sealed/inline", { sealedMeta: null });
        expect((await store.getObject(owner, "sealed/inline"))?.sealedMeta).toBeNull();
        const next = randomBytes(64);
        await putStreamed("sealed/plain", [seg(3)], {}, { sealedMeta: next });
        expect((await store.getObject(owner, "sealed/plain"))?.sealedMeta?.equals(next)).toBe(true);
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

      it("abortUpload after a commit whose answer was lost leaves the object intact", async () => {
        const { meta } = await putStreamed("amb", [seg(1), seg(2)]);
        await store.abortUpload(meta.writeId);
        expectSegments(await store.readSegments(meta.writeId, 0, 5), [seg(1), seg(2)]);
        expect(await store.reclaim(new Set())).toBe(0);
        expect(await store.getObject(owner, "amb")).toEqual(meta);
        // Nor does an abort of a write that was never begun touch anything.
        await store.abortUpload(randomBytes(16));
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

    describe("deleting an owner's objects", () => {
      it("deleteOwnerObjects removes the owner's objects, segments and uploads, and nothing else", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const keep = await putStreamed("keep", [seg(1)], {}, { owner: other.uid });
        const obj = await putStreamed("o", [seg(1), seg(2)]);
        const replaced = await putStreamed("o", [seg(3)]);
        const item = await putInline("1");
        const up = newMeta(owner, "up");
        await store.beginUpload(owner, "up", up.writeId);
        await store.appendSegments(up.writeId, 0, [seg(5)]);

        await store.deleteOwnerObjects(owner);
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
        // The owner's account is the account store's to delete; another owner's objects stay.
        expect(await accounts.getUserByUid(owner)).not.toBeNull();
        expect(await store.getObject(other.uid, "keep")).not.toBeNull();
        expect(await store.readSegments(keep.meta.writeId, 0, 5)).toEqual([seg(1)]);
        // Idempotent: a retry after a crash finishes the deletion.
        await store.deleteOwnerObjects(owner);
        expect(await store.sweepAbandonedUploads()).toBe(0);
      });
    });

    describe("lifecycle", () => {
      it("pings, and reports StorageUnavailableError once closed", async () => {
        await db.ping();
        await db.close();
        await expect(db.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store.getObject(owner, "x")).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(store.commitObject(newMeta(owner, "x"), {}, [seg(1)])).rejects.toBeInstanceOf(
          StorageUnavailableError,
        );
        await db.close();
      });
    });
  });
}
