// The MultipartStore contract: every adapter runs this suite unchanged. Parts stream in through the
// ObjectStore's uploads, as the domain sends them; the reclaimer and the owner's deletion are the
// ObjectStore's, and purge a multipart object's parts with it.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UserOwnsObjects } from "../../src/store/account-store.js";
import type { WriteCondition } from "../../src/store/object-store.js";
import type { MultipartUploadRecord, ObjectMeta, PartRecord } from "../../src/store/records.js";
import { expectCode, expectSegments } from "./assertions.js";
import {
  freshObjectsDatabase,
  newMeta,
  newPart,
  newUpload,
  newUser,
  type ObjectsFixture,
  seg,
} from "./fixtures.js";

export function multipartStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`MultipartStore contract: ${name}`, () => {
    const { owner, multipart, objects, buckets, accounts } = freshObjectsDatabase(factory);

    async function begin(
      id: string,
      over: Partial<MultipartUploadRecord> = {},
    ): Promise<MultipartUploadRecord> {
      const up = newUpload(over.owner ?? owner, id, over);
      await multipart.createMultipart(up);
      return up;
    }

    /** Streams a part write in and commits it as part `number`, as UploadPart does. */
    async function uploadPart(
      up: MultipartUploadRecord,
      number: number,
      segments: Buffer[],
    ): Promise<PartRecord> {
      const writeId = randomBytes(16);
      await objects.beginUpload(up.owner, up.id, writeId);
      await objects.appendSegments(writeId, 0, segments);
      const part = newPart(up.uploadId, number, { writeId, size: segments.length * 100 });
      await multipart.commitPart(part);
      return part;
    }

    /** The object an upload completes to. */
    const metaOf = (up: MultipartUploadRecord, over: Partial<ObjectMeta> = {}): ObjectMeta =>
      newMeta(up.owner, up.id, {
        writeId: up.writeId,
        formatVersion: up.formatVersion,
        kekVersion: up.kekVersion,
        wrappedDek: up.wrappedDek,
        contentType: up.contentType,
        sealedMeta: up.sealedMeta,
        size: 300,
        ...over,
      });

    const named = (...parts: PartRecord[]) => parts.map((p) => ({ number: p.number, writeId: p.writeId }));

    function complete(
      up: MultipartUploadRecord,
      parts: PartRecord[],
      cond: WriteCondition = {},
      over: Partial<ObjectMeta> = {},
    ) {
      const meta = metaOf(up, over);
      const manifest = randomBytes(120);
      return {
        meta,
        manifest,
        done: multipart.completeMultipart(up.uploadId, meta, named(...parts), manifest, cond),
      };
    }

    const segmentsOf = (p: PartRecord) => objects.readSegments(p.writeId, 0, 10);

    describe("uploads", () => {
      it("stores and returns every field of an upload", async () => {
        const up = await begin("a/b.bin", { contentType: "image/png", kekVersion: 3 });
        expect(await multipart.getMultipart(up.uploadId)).toEqual(up);
        const bare = await begin("c", { sealedMeta: null });
        expect(await multipart.getMultipart(bare.uploadId)).toEqual(bare);
        expect(await multipart.getMultipart("up_missing")).toBeNull();
      });

      it("refuses an owner that does not exist", async () => {
        await expectCode(multipart.createMultipart(newUpload("no-such-user", "x")), "not_found");
      });

      it("lists the owner's uploads by object id bytewise, then upload id; `after` is exclusive", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const ups = [
          await begin("b", { uploadId: "u1" }),
          await begin("a/x", { uploadId: "u3" }),
          await begin("a", { uploadId: "u9" }),
          await begin("a/x", { uploadId: "u2" }),
          await begin("10", { uploadId: "u4" }),
          await begin("2", { uploadId: "u5" }),
          await begin("B", { uploadId: "u6" }),
        ];
        await begin("a", { owner: other.uid, uploadId: "u0" });
        const list = async (prefix: string, after?: { id: string; uploadId: string }, limit = 100) =>
          (await multipart.listMultipart(owner, { prefix, after, limit })).map(
            (u) => `${u.id}:${u.uploadId}`,
          );
        const all = ["10:u4", "2:u5", "B:u6", "a:u9", "a/x:u2", "a/x:u3", "b:u1"];
        expect(await list("")).toEqual(all);
        expect((await multipart.listMultipart(owner, { prefix: "b", limit: 10 }))[0]).toEqual(ups[0]);
        expect(await list("a")).toEqual(["a:u9", "a/x:u2", "a/x:u3"]);
        expect(await list("a/")).toEqual(["a/x:u2", "a/x:u3"]);
        expect(await list("z")).toEqual([]);
        expect(await list("", { id: "a/x", uploadId: "u2" })).toEqual(["a/x:u3", "b:u1"]);
        expect(await list("", { id: "a", uploadId: "u0" })).toEqual(["a:u9", "a/x:u2", "a/x:u3", "b:u1"]);
        expect(await list("", { id: "a/w", uploadId: "" })).toEqual(["a/x:u2", "a/x:u3", "b:u1"]);
        expect(await list("", { id: "B", uploadId: "u6" })).toEqual(all.slice(3));
        expect(await list("a", { id: "a/x", uploadId: "u3" })).toEqual([]);
        expect(await list("", undefined, 0)).toEqual([]);
        // Pages of two reproduce the whole list.
        const seen: string[] = [];
        let after: { id: string; uploadId: string } | undefined;
        for (;;) {
          const page = await multipart.listMultipart(owner, { prefix: "", after, limit: 2 });
          seen.push(...page.map((u) => `${u.id}:${u.uploadId}`));
          if (page.length < 2) break;
          after = { id: page[1]!.id, uploadId: page[1]!.uploadId };
        }
        expect(seen).toEqual(all);
        expect(
          (await multipart.listMultipart(other.uid, { prefix: "", limit: 10 })).map((u) => u.uploadId),
        ).toEqual(["u0"]);
      });

      it("expiredMultipart lists the uploads begun before a time, oldest first, at most `limit`", async () => {
        const at = (ms: number) => new Date(1_700_000_000_000 + ms);
        const a = await begin("a", { created: at(3000) });
        const b = await begin("b", { created: at(1000) });
        const c = await begin("c", { created: at(2000) });
        await begin("d", { created: at(5000) });
        expect(await multipart.expiredMultipart(at(4000), 10)).toEqual([b.uploadId, c.uploadId, a.uploadId]);
        expect(await multipart.expiredMultipart(at(4000), 2)).toEqual([b.uploadId, c.uploadId]);
        expect(await multipart.expiredMultipart(at(2000), 10)).toEqual([b.uploadId]);
        expect(await multipart.expiredMultipart(at(1000), 10)).toEqual([]);
        expect(await multipart.expiredMultipart(at(9000), 0)).toEqual([]);
      });

      it("countByKekVersion counts uploads in progress beside objects, and a completed one once", async () => {
        await objects.commitObject(newMeta(owner, "o", { kekVersion: 1 }), {}, [seg(1)]);
        const up = await begin("m", { kekVersion: 2 });
        await begin("n", { kekVersion: 1 });
        expect(await objects.countByKekVersion(owner)).toEqual(
          new Map([
            [1, 2],
            [2, 1],
          ]),
        );
        const p = await uploadPart(up, 1, [seg(1)]);
        await complete(up, [p]).done;
        expect(await objects.countByKekVersion(owner)).toEqual(
          new Map([
            [1, 2],
            [2, 1],
          ]),
        );
      });
    });

    describe("parts", () => {
      it("commits parts in any order and lists them by number, a page at a time", async () => {
        const up = await begin("p");
        const parts = new Map<number, PartRecord>();
        for (const n of [3, 1, 10000, 2]) parts.set(n, await uploadPart(up, n, [seg(n % 256)]));
        expect(await multipart.listParts(up.uploadId, 0, 100)).toEqual(
          [1, 2, 3, 10000].map((n) => parts.get(n)),
        );
        expect((await multipart.listParts(up.uploadId, 1, 2)).map((p) => p.number)).toEqual([2, 3]);
        expect((await multipart.listParts(up.uploadId, 3, 2)).map((p) => p.number)).toEqual([10000]);
        expect(await multipart.listParts(up.uploadId, 10000, 2)).toEqual([]);
        expect(await multipart.listParts(up.uploadId, 0, 0)).toEqual([]);
        expect(await multipart.listParts("up_missing", 0, 10)).toEqual([]);
        expectSegments(await segmentsOf(parts.get(3)!), [seg(3)]);
      });

      it("commitPart ends the part write's upload: no more segments, no second commit, no sweep", async () => {
        const up = await begin("p");
        const part = await uploadPart(up, 1, [seg(1), seg(2)]);
        await expectCode(objects.appendSegments(part.writeId, 2, [seg(3)]), "conflict");
        await expectCode(multipart.commitPart({ ...part, number: 2 }), "conflict");
        expect(await objects.sweepAbandonedUploads()).toBe(0);
        expectSegments(await segmentsOf(part), [seg(1), seg(2)]);
        expect((await multipart.listParts(up.uploadId, 0, 10)).map((p) => p.number)).toEqual([1]);
      });

      it("abortUpload of a part write whose commitPart went through (its answer lost) keeps the part", async () => {
        const up = await begin("p");
        const part = await uploadPart(up, 1, [seg(1), seg(2)]);
        await objects.abortUpload(part.writeId);
        expectSegments(await segmentsOf(part), [seg(1), seg(2)]);
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([part]);
        await complete(up, [part]).done;
        expectSegments(await segmentsOf(part), [seg(1), seg(2)]);
      });

      it("a part uploaded again replaces the earlier one, which goes to the reclaimer", async () => {
        const up = await begin("p");
        const first = await uploadPart(up, 1, [seg(1), seg(2)]);
        const retry = await uploadPart(up, 1, [seg(3)]);
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([retry]);
        expect(await objects.reclaim(new Set())).toBe(1);
        expect(await segmentsOf(first)).toEqual([]);
        expectSegments(await segmentsOf(retry), [seg(3)]);
      });

      it("commitPart refuses a part write that was never begun, or was swept or aborted", async () => {
        const up = await begin("p");
        await expectCode(multipart.commitPart(newPart(up.uploadId, 1)), "conflict");
        const aborted = randomBytes(16);
        await objects.beginUpload(owner, "p", aborted);
        await objects.appendSegments(aborted, 0, [seg(1)]);
        await objects.abortUpload(aborted);
        await expectCode(multipart.commitPart(newPart(up.uploadId, 1, { writeId: aborted })), "conflict");
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([]);
      });

      it("commitPart to an upload that is gone is not_found and leaves the part write to abortUpload", async () => {
        const up = await begin("p");
        expect(await multipart.abortMultipart(up.uploadId)).toBe(true);
        const writeId = randomBytes(16);
        await objects.beginUpload(owner, "p", writeId);
        await objects.appendSegments(writeId, 0, [seg(1)]);
        await expectCode(multipart.commitPart(newPart(up.uploadId, 1, { writeId })), "not_found");
        expectSegments(await objects.readSegments(writeId, 0, 5), [seg(1)]);
        await objects.abortUpload(writeId);
        expect(await objects.readSegments(writeId, 0, 5)).toEqual([]);
        expect(await objects.sweepAbandonedUploads()).toBe(0);
      });
    });

    describe("completion", () => {
      it("turns the upload into the object: its parts stay where they are, the others are reclaimed", async () => {
        const up = await begin("docs/big.bin");
        const p1 = await uploadPart(up, 1, [seg(1), seg(2)]);
        const p2 = await uploadPart(up, 2, [seg(3)]);
        const unused = await uploadPart(up, 3, [seg(4)]);
        const { meta, manifest, done } = complete(up, [p1, p2]);
        const res = await done;
        expect(res).toEqual({ created: true, createdAt: meta.created });
        expect(await objects.getObject(owner, "docs/big.bin")).toEqual(meta);
        expect((await objects.getObjectForRead(owner, "docs/big.bin", 1 << 20))?.meta).toEqual(meta);
        expect(await objects.listObjects(owner, { prefix: "docs/", limit: 10 })).toEqual([meta]);
        expect((await multipart.getManifest(meta.writeId))?.equals(manifest)).toBe(true);
        expect(await multipart.getMultipart(up.uploadId)).toBeNull();
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([]);
        expect(await multipart.listMultipart(owner, { prefix: "", limit: 10 })).toEqual([]);
        expect(await objects.reclaim(new Set())).toBe(1);
        expect(await segmentsOf(unused)).toEqual([]);
        expectSegments(await segmentsOf(p1), [seg(1), seg(2)]);
        expectSegments(await segmentsOf(p2), [seg(3)]);
        // Completed once: the upload is gone.
        await expectCode(complete(up, [p1, p2]).done, "not_found");
        await expectCode(multipart.commitPart(newPart(up.uploadId, 4)), "not_found");
        expect(await multipart.getManifest(randomBytes(16))).toBeNull();
      });

      it("replacing an object: the old write is reclaimed, the new object keeps the first created", async () => {
        const old = await objects.commitObject(newMeta(owner, "r"), {}, [seg(9)]);
        const oldMeta = (await objects.getObject(owner, "r"))!;
        const up = await begin("r");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        const unused = await uploadPart(up, 2, [seg(2)]);
        const { meta, done } = complete(up, [p1], {}, { created: new Date(1_800_000_000_000) });
        const res = await done;
        expect(res).toEqual({ created: false, createdAt: old.createdAt });
        const got = await objects.getObject(owner, "r");
        expect(got).toEqual({ ...meta, created: old.createdAt });
        expect(await objects.reclaim(new Set())).toBe(2);
        expect(await objects.readSegments(oldMeta.writeId, 0, 5)).toEqual([]);
        expect(await segmentsOf(unused)).toEqual([]);
        expectSegments(await segmentsOf(p1), [seg(1)]);
      });

      it("a multipart object replacing a multipart object takes the old one's parts and manifest to the reclaimer", async () => {
        const first = await begin("mm");
        const a = await uploadPart(first, 1, [seg(1)]);
        const b = await uploadPart(first, 2, [seg(2)]);
        await complete(first, [a, b]).done;
        const second = await begin("mm");
        const c = await uploadPart(second, 1, [seg(3)]);
        await complete(second, [c]).done;
        expect(await objects.reclaim(new Set())).toBe(1);
        expect(await segmentsOf(a)).toEqual([]);
        expect(await segmentsOf(b)).toEqual([]);
        expect(await multipart.getManifest(first.writeId)).toBeNull();
        expectSegments(await segmentsOf(c), [seg(3)]);
        expect(await multipart.getManifest(second.writeId)).not.toBeNull();
      });

      it("a part replaced since the client listed it: conflict, and nothing changes", async () => {
        const old = newMeta(owner, "c");
        await objects.commitObject(old, {}, [seg(9)]);
        const up = await begin("c");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        const stale = await uploadPart(up, 2, [seg(2)]);
        const fresh = await uploadPart(up, 2, [seg(3)]);
        await expectCode(complete(up, [p1, stale]).done, "conflict");
        // A part never committed is no part either.
        await expectCode(complete(up, [p1, newPart(up.uploadId, 5)]).done, "conflict");
        expect(await objects.getObject(owner, "c")).toEqual(old);
        expect(await multipart.getMultipart(up.uploadId)).toEqual(up);
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([p1, fresh]);
        expect(await multipart.getManifest(up.writeId)).toBeNull();
        // Only the replaced part was reclaimed; the current parts and the object stay.
        expect(await objects.reclaim(new Set())).toBe(1);
        expectSegments(await segmentsOf(p1), [seg(1)]);
        expectSegments(await segmentsOf(fresh), [seg(3)]);
        // The client lists again, and completes.
        await complete(up, [p1, fresh]).done;
        expect((await objects.getObject(owner, "c"))?.writeId.equals(up.writeId)).toBe(true);
      });

      it("a failing precondition: precondition_failed, and nothing changes", async () => {
        const existing = newMeta(owner, "x");
        await objects.commitObject(existing, {}, [seg(9)]);
        const up = await begin("x");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        await expectCode(complete(up, [p1], { ifNoneMatch: true }).done, "precondition_failed");
        await expectCode(complete(up, [p1], { ifMatch: ['"other"'] }).done, "precondition_failed");
        const fresh = await begin("y");
        const q1 = await uploadPart(fresh, 1, [seg(2)]);
        await expectCode(complete(fresh, [q1], { ifMatch: ["*"] }).done, "precondition_failed");
        expect(await objects.getObject(owner, "x")).toEqual(existing);
        expect(await objects.getObject(owner, "y")).toBeNull();
        for (const u of [up, fresh]) expect(await multipart.getMultipart(u.uploadId)).toEqual(u);
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([p1]);
        expect(await multipart.getManifest(up.writeId)).toBeNull();
        expect(await objects.reclaim(new Set())).toBe(0);
        // The condition that holds goes through.
        const { meta, done } = complete(up, [p1], { ifMatch: [existing.etag] });
        expect((await done).created).toBe(false);
        expect((await objects.getObject(owner, "x"))?.etag).toBe(meta.etag);
      });

      it("an upload that does not exist, or belongs to another object or owner, is not_found", async () => {
        const up = await begin("right");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        await expectCode(
          multipart.completeMultipart("up_missing", metaOf(up), named(p1), randomBytes(8), {}),
          "not_found",
        );
        await expectCode(
          multipart.completeMultipart(
            up.uploadId,
            metaOf({ ...up, id: "wrong" }),
            named(p1),
            randomBytes(8),
            {},
          ),
          "not_found",
        );
        const other = newUser();
        await accounts.createUser(other);
        await expectCode(
          multipart.completeMultipart(
            up.uploadId,
            metaOf({ ...up, owner: other.uid }),
            named(p1),
            randomBytes(8),
            {},
          ),
          "not_found",
        );
        expect(await objects.getObject(owner, "wrong")).toBeNull();
        expect(await objects.getObject(other.uid, "right")).toBeNull();
        expect(await multipart.getMultipart(up.uploadId)).toEqual(up);
      });

      it("parts named out of order or twice are refused, and nothing changes", async () => {
        const up = await begin("o");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        const p2 = await uploadPart(up, 2, [seg(2)]);
        await expectCode(complete(up, [p2, p1]).done, "invalid_part_order");
        await expectCode(complete(up, [p1, p1]).done, "invalid_part_order");
        expect(await objects.getObject(owner, "o")).toBeNull();
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([p1, p2]);
      });

      it("an upload of many parts sent in parallel completes, and is reclaimed whole", async () => {
        const up = await begin("many");
        const n = 200;
        const parts = await Promise.all(
          Array.from({ length: n }, (_, i) => uploadPart(up, i + 1, [seg(i % 256, 16)])),
        );
        expect((await multipart.listParts(up.uploadId, 150, 1000)).map((p) => p.number)).toEqual(
          parts.slice(150).map((p) => p.number),
        );
        // Every other part is left out.
        const used = parts.filter((p) => p.number % 2 === 1);
        await complete(up, used).done;
        expect(await objects.reclaim(new Set())).toBe(n / 2);
        for (const p of parts.slice(0, 4)) expect((await segmentsOf(p)).length).toBe(p.number % 2);
        expect(await objects.deleteObject(owner, "many")).toBe(true);
        expect(await objects.reclaim(new Set())).toBe(1);
        for (const p of used) expect(await segmentsOf(p)).toEqual([]);
      });

      it("two completes of one upload racing: exactly one makes the object", async () => {
        const up = await begin("race");
        const p1 = await uploadPart(up, 1, [seg(1)]);
        const p2 = await uploadPart(up, 2, [seg(2)]);
        const attempts = [complete(up, [p1, p2]), complete(up, [p1]), complete(up, [p1, p2])];
        const outcomes = await Promise.allSettled(attempts.map((a) => a.done));
        const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes)
          if (o.status === "rejected") expect((o.reason as { code?: string }).code).toBe("not_found");
        const winner = attempts[won[0]!]!;
        expect(await objects.getObject(owner, "race")).toEqual(winner.meta);
        expect((await multipart.getManifest(up.writeId))?.equals(winner.manifest)).toBe(true);
        expect(await objects.reclaim(new Set())).toBe(won[0] === 1 ? 1 : 0);
        expectSegments(await segmentsOf(p1), [seg(1)]);
      });
    });

    describe("abort", () => {
      it("forgets the upload; its parts go to the reclaimer", async () => {
        const up = await begin("ab");
        const parts = [await uploadPart(up, 1, [seg(1), seg(2)]), await uploadPart(up, 2, [seg(3)])];
        expect(await multipart.abortMultipart(up.uploadId)).toBe(true);
        expect(await multipart.getMultipart(up.uploadId)).toBeNull();
        expect(await multipart.listParts(up.uploadId, 0, 10)).toEqual([]);
        expect(await multipart.abortMultipart(up.uploadId)).toBe(false);
        await expectCode(complete(up, parts).done, "not_found");
        expect(await objects.getObject(owner, "ab")).toBeNull();
        expect(await objects.reclaim(new Set())).toBe(2);
        for (const p of parts) expect(await segmentsOf(p)).toEqual([]);
        expect(await multipart.abortMultipart("up_missing")).toBe(false);
      });
    });

    describe("reclaiming multipart objects", () => {
      it("deleting the object purges its parts and manifest, once nobody reads it", async () => {
        const up = await begin("del");
        const parts = [await uploadPart(up, 1, [seg(1), seg(2)]), await uploadPart(up, 2, [seg(3)])];
        await complete(up, parts).done;
        expect(await objects.deleteObject(owner, "del")).toBe(true);
        // A reader holds the object's write id: its parts and manifest must stay.
        const busy = new Set([up.writeId.toString("hex")]);
        expect(await objects.reclaim(busy)).toBe(0);
        expectSegments(await segmentsOf(parts[0]!), [seg(1), seg(2)]);
        expectSegments(await segmentsOf(parts[1]!), [seg(3)]);
        expect(await multipart.getManifest(up.writeId)).not.toBeNull();
        busy.clear();
        expect(await objects.reclaim(busy)).toBe(1);
        for (const p of parts) expect(await segmentsOf(p)).toEqual([]);
        expect(await multipart.getManifest(up.writeId)).toBeNull();
        expect(await objects.reclaim(busy)).toBe(0);
      });

      it("replacing it with a plain object purges its parts and manifest", async () => {
        const up = await begin("rep");
        const many = Array.from({ length: 300 }, (_, i) => seg(i % 256, 32));
        const p1 = await uploadPart(up, 1, many);
        await complete(up, [p1]).done;
        await objects.commitObject(newMeta(owner, "rep"), {}, [seg(7)]);
        expect(await objects.reclaim(new Set())).toBe(1);
        expect(await objects.readSegments(p1.writeId, 0, 300)).toEqual([]);
        expect(await multipart.getManifest(up.writeId)).toBeNull();
        expectSegments(await objects.readSegments((await objects.getObject(owner, "rep"))!.writeId, 0, 5), [
          seg(7),
        ]);
      });
    });

    describe("deleting a user", () => {
      it("is refused while a multipart upload of the user remains", async () => {
        await begin("pending");
        await expect(accounts.deleteUser(owner)).rejects.toBeInstanceOf(UserOwnsObjects);
        expect(await accounts.getUserByUid(owner)).not.toBeNull();
      });

      it("deleteOwnerObjects removes the owner's buckets, uploads, parts and multipart objects, and nothing else", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const theirs = await begin("t", { owner: other.uid });
        const theirPart = await uploadPart(theirs, 1, [seg(8)]);
        await buckets.createBucket({ owner: other.uid, name: "keep", created: new Date() });

        await buckets.createBucket({ owner, name: "photos", created: new Date() });
        const done = await begin("photos/a.jpg");
        const d1 = await uploadPart(done, 1, [seg(1)]);
        const d2 = await uploadPart(done, 2, [seg(2)]);
        await complete(done, [d1, d2]).done;
        const pending = await begin("photos/b.jpg");
        const q1 = await uploadPart(pending, 1, [seg(3)]);
        const streaming = randomBytes(16);
        await objects.beginUpload(owner, "photos/b.jpg", streaming);
        await objects.appendSegments(streaming, 0, [seg(4)]);

        await objects.deleteOwnerObjects(owner);
        expect(await buckets.listBuckets(owner)).toEqual([]);
        expect(await multipart.listMultipart(owner, { prefix: "", limit: 10 })).toEqual([]);
        expect(await multipart.getMultipart(pending.uploadId)).toBeNull();
        expect(await objects.getObject(owner, "photos/a.jpg")).toBeNull();
        for (const p of [d1, d2, q1]) expect(await segmentsOf(p)).toEqual([]);
        expect(await objects.readSegments(streaming, 0, 5)).toEqual([]);
        expect(await multipart.getManifest(done.writeId)).toBeNull();
        expect(await objects.countByKekVersion(owner)).toEqual(new Map());
        await expectCode(objects.appendSegments(streaming, 1, [seg(5)]), "conflict");
        expect(await accounts.deleteUser(owner)).toBe(true);

        expect(await multipart.getMultipart(theirs.uploadId)).toEqual(theirs);
        expectSegments(await segmentsOf(theirPart), [seg(8)]);
        expect((await buckets.listBuckets(other.uid)).map((b) => b.name)).toEqual(["keep"]);
        expect(await objects.reclaim(new Set())).toBe(0);
        expect(await objects.sweepAbandonedUploads()).toBe(0);
      });
    });
  });
}
