// The BucketStore contract: every adapter runs this suite unchanged. It talks only to the ports
// (the account port creates the owners buckets belong to).
import { describe, expect, it } from "vitest";
import { UserOwnsObjects } from "../../src/store/account-store.js";
import type { BucketRecord } from "../../src/store/records.js";
import { expectCode } from "./assertions.js";
import { freshObjectsDatabase, newUser, type ObjectsFixture } from "./fixtures.js";

const bucket = (owner: string, name: string, at = 1_700_000_006_000): BucketRecord => ({
  owner,
  name,
  created: new Date(at),
});

export function bucketStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`BucketStore contract: ${name}`, () => {
    const { owner, buckets, objects, accounts } = freshObjectsDatabase(factory);

    it("creates a bucket once: a second create of the name changes nothing", async () => {
      const first = bucket(owner, "photos");
      expect(await buckets.createBucket(first)).toBe(true);
      expect(await buckets.getBucket(owner, "photos")).toEqual(first);
      expect(await buckets.createBucket(bucket(owner, "photos", 1_800_000_000_000))).toBe(false);
      expect(await buckets.getBucket(owner, "photos")).toEqual(first);
      expect(await buckets.getBucket(owner, "videos")).toBeNull();
    });

    it("keeps buckets per owner: two users may each have one of a name", async () => {
      const other = newUser();
      await accounts.createUser(other);
      expect(await buckets.createBucket(bucket(owner, "backup"))).toBe(true);
      expect(await buckets.createBucket(bucket(other.uid, "backup", 1_700_000_007_000))).toBe(true);
      expect((await buckets.getBucket(other.uid, "backup"))?.created.getTime()).toBe(1_700_000_007_000);
      expect(await buckets.deleteBucket(other.uid, "backup")).toBe(true);
      expect(await buckets.getBucket(owner, "backup")).toEqual(bucket(owner, "backup"));
      expect(await buckets.listBuckets(other.uid)).toEqual([]);
    });

    it("lists the owner's buckets by name, bytewise", async () => {
      for (const n of ["b", "a.b", "a-b", "a0", "ab", "B"]) await buckets.createBucket(bucket(owner, n));
      expect((await buckets.listBuckets(owner)).map((b) => b.name)).toEqual([
        "B",
        "a-b",
        "a.b",
        "a0",
        "ab",
        "b",
      ]);
      expect(await buckets.listBuckets("nobody")).toEqual([]);
    });

    it("deletes a bucket row, and says whether there was one", async () => {
      await buckets.createBucket(bucket(owner, "gone"));
      expect(await buckets.deleteBucket(owner, "gone")).toBe(true);
      expect(await buckets.getBucket(owner, "gone")).toBeNull();
      expect(await buckets.deleteBucket(owner, "gone")).toBe(false);
      expect(await buckets.deleteBucket(owner, "never")).toBe(false);
      // Made again after a delete, it is a new bucket.
      expect(await buckets.createBucket(bucket(owner, "gone", 1_800_000_000_000))).toBe(true);
      expect((await buckets.getBucket(owner, "gone"))?.created.getTime()).toBe(1_800_000_000_000);
    });

    it("refuses an owner that does not exist", async () => {
      await expectCode(buckets.createBucket(bucket("no-such-user", "x")), "not_found");
      expect(await buckets.listBuckets("no-such-user")).toEqual([]);
    });

    it("a user with a bucket cannot be deleted until deleteOwnerObjects removed it", async () => {
      await buckets.createBucket(bucket(owner, "keep"));
      await expect(accounts.deleteUser(owner)).rejects.toBeInstanceOf(UserOwnsObjects);
      expect(await buckets.getBucket(owner, "keep")).not.toBeNull();
      expect(await accounts.getUserByUid(owner)).not.toBeNull();
      await objects.deleteOwnerObjects(owner);
      expect(await buckets.listBuckets(owner)).toEqual([]);
      expect(await accounts.deleteUser(owner)).toBe(true);
    });

    it("deleteOwnerObjects leaves other owners' buckets", async () => {
      const other = newUser();
      await accounts.createUser(other);
      await buckets.createBucket(bucket(owner, "mine"));
      await buckets.createBucket(bucket(other.uid, "theirs"));
      await objects.deleteOwnerObjects(owner);
      expect(await buckets.listBuckets(other.uid)).toEqual([bucket(other.uid, "theirs")]);
    });
  });
}
