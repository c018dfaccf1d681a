// Rewrap throughput: 100,000 small objects (100 bytes) of one user, their data keys moved to a
// new key version by the rewrap job of a real server, timed by the job's own created/updated
// stamps. Target: at least 20,000 objects/s (an absolute figure: the job's work has no same-run
// twin to compare with; the durable-write rate of the same disk is given as context).
import { pool } from "../http-load.js";
import { type Row, type Suite, type SuiteContext, valueRow } from "../suite.js";

const OBJECTS = 100_000;
const TARGET = 20_000;

interface Job {
  state: string;
  done: number;
  total: number;
  created: string;
  updated: string;
  result?: { damagedCount: number };
}

const suite: Suite = {
  name: "rewrap",
  order: 40,
  defaultOn: true,
  description: `rewrap job objects/s on ${OBJECTS.toLocaleString("en")} small objects (target ≥ ${TARGET}/s)`,
  async run(ctx: SuiteContext): Promise<Row[]> {
    const server = await ctx.startSse("rewrap");
    try {
      const auth = { authorization: `Bearer ${server.token}` };
      const body = (i: number) => `${"small object ".repeat(7)}${String(i).padStart(9, "0")}`;
      const check = async (i: number) => {
        const r = await fetch(`${server.url}/data/o${i}`, { headers: auth });
        if (r.status !== 200 || (await r.text()) !== body(i))
          throw new Error(`GET /data/o${i} answered ${r.status}`);
      };
      const api = async (path: string, method = "GET", want = 200) => {
        const r = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${server.token}` },
        });
        if (r.status !== want) throw new Error(`${method} ${path} answered ${r.status}: ${await r.text()}`);
        return r.json();
      };
      ctx.log(`rewrap: preloading ${OBJECTS} objects`);
      const loadStart = performance.now();
      await pool(
        Array.from({ length: OBJECTS }, (_, i) => i),
        64,
        async (i) => {
          const r = await fetch(`${server.url}/data/o${i}`, { method: "PUT", headers: auth, body: body(i) });
          if (r.status !== 201) throw new Error(`preload PUT answered ${r.status}: ${await r.text()}`);
        },
      );
      const putRate = OBJECTS / ((performance.now() - loadStart) / 1000);
      await check(0);
      await api("/keys/rotate", "POST");
      ctx.log("rewrap: running the rewrap job");
      const { jobId } = (await api("/keys/rewrap", "POST", 202)) as { jobId: string };
      let job: Job;
      for (;;) {
        job = (await api(`/jobs/${jobId}`)) as Job;
        if (job.state !== "running") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (job.state !== "done" || job.done !== OBJECTS || job.result?.damagedCount !== 0)
        throw new Error(`the rewrap job ended ${JSON.stringify(job)}`);
      const keys = (await api("/keys")) as { versions: { version: number; objects: number }[] };
      if (keys.versions.find((v) => v.version === 1)?.objects !== 0)
        throw new Error("objects were left under the old key version");
      await check(OBJECTS - 1);
      const seconds = (Date.parse(job.updated) - Date.parse(job.created)) / 1000;
      const rate = OBJECTS / seconds;
      ctx.detail("rewrap", { objects: OBJECTS, seconds, rate, preloadItemsPerSecond: putRate });
      return [
        valueRow({
          suite: "rewrap",
          figure: `rewrap ${OBJECTS.toLocaleString("en")} objects`,
          value: rate,
          unit: "objects/s",
          target: { op: ">=", value: TARGET },
          note: `${seconds.toFixed(2)} s by the job's timestamps; for scale, durable PUTs preloaded at ${putRate.toFixed(0)}/s`,
        }),
      ];
    } finally {
      await server.stop();
    }
  },
};

export default suite;
