// A background job with two server processes on one PostgreSQL: it runs in exactly one of them, and
// when that one is killed (-9) midway, the other takes it over once the lease runs out, resumes
// from the last checkpoint and finishes it.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { populate } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { waitFor } from "../helpers/wait-for.js";

let db: TestDatabase | undefined;
let sharedDir: string | undefined;
const servers: ServerProcess[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => killHard(s)));
  await db?.drop();
  if (sharedDir) rmSync(sharedDir, { recursive: true, force: true });
}, 60_000);

interface Job {
  id: string;
  state: string;
  done: number;
  total: number;
}

/** The "job started" log lines a server wrote for one job. */
function starts(s: ServerProcess, jobId: string): { done: number; resumed: boolean }[] {
  return s
    .output()
    .split("\n")
    .filter((l) => l.includes(`"job":"${jobId}"`) && l.includes('"msg":"job started"'))
    .map((l) => JSON.parse(l) as { done: number; resumed: boolean });
}

describe("background jobs on several processes", () => {
  it("a job runs in exactly one process; when it dies, another takes the job over and finishes it", async () => {
    db = await createTestDatabase();
    sharedDir = tempDir("sse-e2e-pg-jobs-");
    const env = { SSE_DATABASE_URL: db.url };
    const count = 20_000;
    const body = (i: number) => Buffer.from(`object number ${i} of the takeover test`);
    const filled = await populate(sharedDir, env, "alice", count, body);
    await filled.close();
    servers.push(...(await Promise.all([0, 1].map(() => startServer({ dataDir: sharedDir, env })))));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const as = (s: ServerProcess, p: string, method = "GET") =>
      s.fetch(p, { method, headers: { authorization: `Bearer ${filled.token}` } });

    expect((await (await as(a, "/keys/rotate", "POST")).json()).primaryVersion).toBe(2);
    const started = await as(a, "/keys/rewrap", "POST");
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };

    // Part-way, seen from the other process: one process holds the job, the other has not touched it.
    await waitFor("the rewrap to be part-way", async () => {
      const job = (await (await as(b, `/jobs/${jobId}`)).json()) as Job;
      // Not an expect: a thrown check is retried; this one must end the test at once.
      if (job.state !== "running") return { finishedEarly: job.state };
      return job.done > 0 ? { finishedEarly: null } : null;
    }).then(({ finishedEarly }) =>
      expect(finishedEarly, "the rewrap finished before it could be killed").toBeNull(),
    );
    const holders = servers.filter((s) => starts(s, jobId).length > 0);
    expect(holders).toHaveLength(1);
    const holder = holders[0]!;
    const survivor = holder === a ? b : a;
    expect(starts(holder, jobId)).toHaveLength(1);
    await killHard(holder);

    // The lease (15 s) runs out; the survivor claims the job and resumes it where it stopped.
    const finished = await waitFor(
      "the survivor to finish the job",
      async () => {
        const job = (await (await as(survivor, `/jobs/${jobId}`)).json()) as Job;
        return job.state === "running" ? null : job;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    expect(finished).toMatchObject({ state: "done", done: count, total: count });
    const resumed = starts(survivor, jobId);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({ resumed: true });
    expect(resumed[0]!.done).toBeGreaterThan(0);

    const keys = (await (await as(survivor, "/keys")).json()) as { versions: { objects: number }[] };
    expect(keys.versions.map((v) => v.objects)).toEqual([0, count]);
    for (let i = 0; i < count; i += 997) {
      const r = await as(survivor, `/data/o${i}`);
      expect(r.status).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(body(i))).toBe(true);
    }
  }, 240_000);
});
