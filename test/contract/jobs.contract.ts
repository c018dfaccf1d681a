// The JobStore contract: every adapter runs this suite unchanged. It talks only to the port.

import { describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../src/errors.js";
import type { JobRecord } from "../../src/store/records.js";
import { expectCode } from "./assertions.js";
import { freshObjectsDatabase, newJob, newUser, type ObjectsFixture } from "./fixtures.js";

export function jobStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`JobStore contract: ${name}`, () => {
    /** Jobs name the user who started them. */
    const { owner, jobs, accounts, db } = freshObjectsDatabase(factory);

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

      it("lists jobs newest first, one owner's or all, a page at a time", async () => {
        const otherUser = newUser();
        await accounts.createUser(otherUser);
        const other = otherUser.uid;
        const base = 1_700_100_000_000;
        const made: JobRecord[] = [];
        // Two jobs share a creation time: the id orders them, so no page repeats or skips one.
        for (const [i, ms] of [0, 1000, 1000, 2000, 3000].entries()) {
          const job = newJob(i % 2 === 0 ? owner : other, {
            created: new Date(base + ms),
            updated: new Date(base + ms),
          });
          await jobs.createJob(job);
          made.push(job);
        }
        const byAge = [...made].sort(
          (a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? 1 : -1),
        );
        const ids = (js: { id: string }[]) => js.map((j) => j.id);
        const all = await jobs.listJobs({ owner: null, after: null, limit: 100 });
        // Other tests of this database may have made jobs too; these five come in this order.
        expect(ids(all.filter((j) => made.some((m) => m.id === j.id)))).toEqual(ids(byAge));
        expect(all.find((j) => j.id === made[0]!.id)).toEqual(made[0]);
        const mine = await jobs.listJobs({ owner: other, after: null, limit: 100 });
        expect(ids(mine)).toEqual(ids(byAge.filter((j) => j.owner === other)));
        const pages: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await jobs.listJobs({ owner: owner, after, limit: 2 });
          expect(page.length).toBeLessThanOrEqual(2);
          if (page.length === 0) break;
          pages.push(...ids(page));
          after = page.at(-1)!.id;
        }
        expect(pages.filter((id) => made.some((m) => m.id === id))).toEqual(
          ids(byAge.filter((j) => j.owner === owner)),
        );
        expect(new Set(pages).size).toBe(pages.length);
        expect(await jobs.listJobs({ owner: null, after: "no-such-job", limit: 10 })).toEqual([]);
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
      it("reports StorageUnavailableError once its database is closed", async () => {
        await db.close();
        await expect(jobs.getJob("x")).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(jobs.createJob(newJob(owner))).rejects.toBeInstanceOf(StorageUnavailableError);
        await db.close();
      });
    });
  });
}
