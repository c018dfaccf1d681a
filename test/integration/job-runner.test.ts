// The job runner on a real SQLite store: progress and results saved as it goes, failures recorded
// without internals, interruption leaves the job to be resumed from its cursor, and a worker that
// lost its lease stops without writing over the new holder's work.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { type JobHandler, JobRunner } from "../../src/jobs/job-runner.js";
import type { JobRecord } from "../../src/store/records.js";
import { openObjectsFile } from "../../src/store/sqlite/open.js";
import type { ObjectsDatabase } from "../../src/store/stores.js";

let dir: string;
let db: ObjectsDatabase;
let store: ObjectsDatabase["jobs"];
const runners: JobRunner[] = [];
const logger = pino({ level: "silent" });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-jobs-"));
  db = openObjectsFile(path.join(dir, "objects.db"));
  store = db.jobs;
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

function runner(
  handlers: Record<string, JobHandler>,
  opts: { leaseMs?: number; concurrency?: number; pauseMs?: number } = {},
) {
  const r = new JobRunner(store, handlers, { logger, pollMs: 20, ...opts });
  runners.push(r);
  r.start();
  return r;
}

let seq = 0;
async function job(kind: string, over: Partial<JobRecord> = {}): Promise<JobRecord> {
  const now = new Date();
  const j: JobRecord = {
    id: `j${++seq}`,
    kind,
    owner: "someone",
    target: null,
    state: "running",
    done: 0,
    total: 3,
    error: null,
    cursor: null,
    result: null,
    created: now,
    updated: now,
    ...over,
  };
  await store.createJob(j);
  return j;
}

async function until(id: string, pred: (j: JobRecord) => boolean): Promise<JobRecord> {
  for (;;) {
    const j = (await store.getJob(id))!;
    if (pred(j)) return j;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

describe("JobRunner", () => {
  it("runs a job to done, saving progress, cursor and result at each checkpoint", async () => {
    const seen: (string | null)[] = [];
    const j = await job("count");
    runner({
      count: async (ctx) => {
        seen.push(ctx.job.cursor);
        for (let i = 1; i <= 3; i++)
          await ctx.checkpoint({ done: i, cursor: String(i), result: `{"n":${i}}` });
        return { result: '{"n":"final"}' };
      },
    });
    const done = await until(j.id, (x) => x.state !== "running");
    expect(done).toMatchObject({ state: "done", done: 3, cursor: "3", result: '{"n":"final"}', error: null });
    expect(seen).toEqual([null]);
  });

  it("records a failure: an AppError's detail, never another error's message", async () => {
    const a = await job("app");
    const b = await job("other");
    const c = await job("unknown-kind");
    runner({
      app: async () => {
        throw new AppError("integrity_error", "key version 2 failed authentication");
      },
      other: async () => {
        throw new Error("SELECT secret FROM somewhere at /var/lib/x");
      },
    });
    expect(await until(a.id, (x) => x.state !== "running")).toMatchObject({
      state: "failed",
      error: "key version 2 failed authentication",
    });
    const other = await until(b.id, (x) => x.state !== "running");
    expect(other.state).toBe("failed");
    expect(other.error).toBe("an unexpected error occurred; see the server log");
    expect((await until(c.id, (x) => x.state !== "running")).error).toMatch(
      /cannot run jobs of kind unknown-kind/,
    );
  });

  it("stop() interrupts at the next checkpoint; another runner resumes from the cursor", async () => {
    const j = await job("steps", { total: 10 });
    const first = gate();
    const reached = gate();
    const r1 = runner({
      steps: async (ctx) => {
        await ctx.checkpoint({ done: 4, cursor: "4" });
        reached.open();
        await first.p;
        await ctx.checkpoint({ done: 5, cursor: "5" }); // throws: the runner is stopping
        return {};
      },
    });
    await reached.p;
    const stopping = r1.stop();
    first.open();
    await stopping;
    expect(await store.getJob(j.id)).toMatchObject({ state: "running", done: 4, cursor: "4" });

    const resumedFrom: (string | null)[] = [];
    runner({
      steps: async (ctx) => {
        resumedFrom.push(ctx.job.cursor);
        await ctx.checkpoint({ done: 10, cursor: "10" });
        return {};
      },
    });
    expect(await until(j.id, (x) => x.state === "done")).toMatchObject({ done: 10 });
    expect(resumedFrom).toEqual(["4"]);
  });

  it("a worker that lost its lease stops at its next checkpoint and writes nothing more", async () => {
    const j = await job("slow");
    const holding = gate();
    const started = gate();
    let interrupted = false;
    runner(
      {
        slow: async (ctx) => {
          started.open();
          await holding.p;
          try {
            await ctx.checkpoint({ done: 2, cursor: "mine" });
          } catch (err) {
            interrupted = true;
            throw err;
          }
          return { result: '"should not be written"' };
        },
      },
      { leaseMs: 60_000 },
    );
    await started.p;
    // What another worker does after this one's lease expired: take the job over.
    const db = new Database(path.join(dir, "objects.db"));
    db.prepare("UPDATE jobs SET lease_owner = 'other-worker', cursor = 'theirs', done = 1 WHERE id = ?").run(
      j.id,
    );
    db.close();
    holding.open();
    await until(j.id, () => interrupted);
    await runners[0]!.idle();
    expect(await store.getJob(j.id)).toMatchObject({
      state: "running",
      cursor: "theirs",
      done: 1,
      result: null,
    });
  });

  it("runs up to `concurrency` jobs at once", async () => {
    const release = gate();
    let running = 0;
    let most = 0;
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await job("wait")).id);
    runner(
      {
        wait: async () => {
          running++;
          most = Math.max(most, running);
          await release.p;
          running--;
          return {};
        },
      },
      { concurrency: 2 },
    );
    while (running < 2) await new Promise((r) => setTimeout(r, 5));
    release.open();
    for (const id of ids) await until(id, (x) => x.state === "done");
    expect(most).toBe(2);
  });

  it("pauseMs: a pause after each checkpoint that saved progress, which stop() cuts short", async () => {
    const times: number[] = [];
    const j = await job("paced");
    const r = runner(
      {
        paced: async (ctx) => {
          for (let done = 1; done <= 3; done++) {
            times.push(Date.now());
            await ctx.checkpoint({ done });
          }
          return {};
        },
      },
      { pauseMs: 150 },
    );
    await until(j.id, (x) => x.state === "done");
    // Lower bounds only: a pause is at least as long as asked, whatever the machine's speed.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(140);
    await r.stop();

    // A long pause does not hold up a shutdown: the job is left to resume from its checkpoint.
    const long = await job("slow");
    const r2 = runner(
      {
        slow: async (ctx) => {
          await ctx.checkpoint({ done: 1, cursor: "c1" });
          return {};
        },
      },
      { pauseMs: 60_000 },
    );
    await until(long.id, (x) => x.done === 1);
    const t0 = Date.now();
    await r2.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await store.getJob(long.id)).toMatchObject({ state: "running", done: 1, cursor: "c1" });
  });
});
