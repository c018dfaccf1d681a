// (a) The seed's item API: 1 KiB item GET and durable POST, req/s, against the plain Fastify Map
// server measured in the same run, and against the seed demo itself (FastAPI + PyNaCl, one uvicorn
// worker; bench/seed-server.py) when Debian's python3-fastapi is installed. Targets (issue 19): GET
// ≥ 0.45 of the Map server and ≥ 4× the seed; durable POST ≥ 0.3 of the Map server and ≥ 2× the seed.
// SSE_WORKERS: the same GET load against 2 and 4 workers, each against 1 worker (target, issue 19:
// 2 workers ≥ 1.3× one on a 2-core machine, load generator included).
// Baseline and server alternate in slices (ABAB…) so a burst of load from other processes on the
// shared machine falls on both rather than on one.
import { alternate, describeLoad, type Measured } from "../alternate.js";
import { checkItem, type ItemTarget, itemGetLoad, itemPostLoad, preloadItems } from "../item-load.js";
import { servingPid } from "../rss.js";
import { seedUnavailable, startSeed } from "../seed-server.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

/** Ids the GET run cycles through, created before it on each server. */
const POOL_SIZE = 1000;

/** Item GET req/s of `workers` workers, alternated with one worker on the same load. */
async function workersVsOne(ctx: SuiteContext, workers: number): Promise<[Measured, Measured]> {
  const one = await ctx.startSse("items-get-1-worker", { SSE_WORKERS: "1" });
  try {
    const many = await ctx.startSse(`items-get-${workers}-workers`, { SSE_WORKERS: String(workers) });
    try {
      const a: ItemTarget = { url: one.url, token: one.token };
      const b: ItemTarget = { url: many.url, token: many.token };
      const [aIds, bIds] = [await preloadItems(a, POOL_SIZE), await preloadItems(b, POOL_SIZE)];
      await checkItem(a, aIds[0]!);
      await checkItem(b, bIds[0]!);
      return await alternate(
        ctx,
        `items: GET, ${workers} workers vs 1`,
        { target: a, pid: one.pid, run: (t, sh) => itemGetLoad(t, aIds, sh) },
        { target: b, pid: many.pid, run: (t, sh) => itemGetLoad(t, bIds, sh) },
      );
    } finally {
      await many.stop();
    }
  } finally {
    await one.stop();
  }
}

const suite: Suite = {
  name: "items",
  order: 10,
  defaultOn: true,
  description: "1 KiB item GET and durable POST req/s vs a plain Fastify Map server",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const baseline = await ctx.startBaseline();
    const basePid = servingPid(baseline.proc.pid!);
    const base: ItemTarget = { url: baseline.url };
    let get: [Measured, Measured];
    let post: [Measured, Measured];
    let seedGet: [Measured, Measured] | null = null;
    let seedPost: [Measured, Measured] | null = null;
    const noSeed = seedUnavailable();
    const seed = noSeed ? null : await startSeed();
    if (noSeed) ctx.log(`items: no seed comparison: ${noSeed}`);
    try {
      ctx.log(`items: preloading ${POOL_SIZE} items on the baseline`);
      const baseIds = await preloadItems(base, POOL_SIZE);
      await checkItem(base, baseIds[0]!);

      // GET and POST each get a fresh server, so a --profile run profiles one route at a time.
      const getServer = await ctx.startSse("items-get");
      try {
        const sse: ItemTarget = { url: getServer.url, token: getServer.token };
        ctx.log(`items: preloading ${POOL_SIZE} items on SSE Store`);
        const ids = await preloadItems(sse, POOL_SIZE);
        await checkItem(sse, ids[0]!);
        get = await alternate(
          ctx,
          "items: GET",
          { target: base, pid: basePid, run: (t, sh) => itemGetLoad(t, baseIds, sh) },
          { target: sse, pid: getServer.pid, run: (t, sh) => itemGetLoad(t, ids, sh) },
        );
        if (seed) {
          const seedTarget: ItemTarget = { url: seed.url };
          const seedIds = await preloadItems(seedTarget, POOL_SIZE);
          await checkItem(seedTarget, seedIds[0]!);
          seedGet = await alternate(
            ctx,
            "items: GET vs the seed",
            { target: seedTarget, pid: seed.proc.pid!, run: (t, sh) => itemGetLoad(t, seedIds, sh) },
            { target: sse, pid: getServer.pid, run: (t, sh) => itemGetLoad(t, ids, sh) },
          );
        }
      } finally {
        await getServer.stop();
      }

      const postServer = await ctx.startSse("items-post");
      try {
        const sse: ItemTarget = { url: postServer.url, token: postServer.token };
        post = await alternate(
          ctx,
          "items: POST",
          { target: base, pid: basePid, run: itemPostLoad },
          { target: sse, pid: postServer.pid, run: itemPostLoad },
        );
        if (seed)
          seedPost = await alternate(
            ctx,
            "items: POST vs the seed",
            { target: { url: seed.url }, pid: seed.proc.pid!, run: itemPostLoad },
            { target: sse, pid: postServer.pid, run: itemPostLoad },
          );
      } finally {
        await postServer.stop();
      }
    } finally {
      await baseline.stop();
      await seed?.stop();
    }
    const scaling = [await workersVsOne(ctx, 2), await workersVsOne(ctx, 4)] as const;

    const { connections, duration, warmup, rounds } = ctx.opts;
    ctx.detail("items", {
      connections,
      duration,
      warmup,
      rounds,
      poolSize: POOL_SIZE,
      get: { baseline: get[0], sse: get[1] },
      post: { baseline: post[0], sse: post[1] },
      seed: { get: seedGet, post: seedPost },
      workers: {
        two: { one: scaling[0][0], many: scaling[0][1] },
        four: { one: scaling[1][0], many: scaling[1][1] },
      },
    });
    const workerRows = scaling.map(([one, many], i) =>
      ratioRow({
        suite: "items",
        figure: `item GET 1 KiB, ${i === 0 ? 2 : 4} workers (SSE_WORKERS)`,
        value: many.rps,
        unit: "req/s",
        baseline: { label: "1 worker GET", value: one.rps },
        ...(i === 0 ? { target: { op: ">=" as const, value: 1.3 } } : {}),
        otherLoad: Math.max(one.otherCores, many.otherCores),
        note: `workers: ${describeLoad(many)} | one: ${describeLoad(one)}`,
      }),
    );
    const seedRows: Row[] = [];
    if (seedGet)
      seedRows.push(
        ratioRow({
          suite: "items",
          figure: "item GET 1 KiB vs the seed",
          value: seedGet[1].rps,
          unit: "req/s",
          baseline: { label: "seed (FastAPI + PyNaCl) GET", value: seedGet[0].rps },
          target: { op: ">=", value: 4 },
          otherLoad: Math.max(seedGet[0].otherCores, seedGet[1].otherCores),
          note: `SSE: ${describeLoad(seedGet[1])} | seed: ${describeLoad(seedGet[0])}`,
        }),
      );
    if (seedPost)
      seedRows.push(
        ratioRow({
          suite: "items",
          figure: "item POST 1 KiB (durable) vs the seed",
          value: seedPost[1].rps,
          unit: "req/s",
          baseline: { label: "seed (in memory) POST", value: seedPost[0].rps },
          target: { op: ">=", value: 2 },
          otherLoad: Math.max(seedPost[0].otherCores, seedPost[1].otherCores),
          note: `SSE: ${describeLoad(seedPost[1])} | seed: ${describeLoad(seedPost[0])}`,
        }),
      );
    return [
      ratioRow({
        suite: "items",
        figure: "item GET 1 KiB",
        value: get[1].rps,
        unit: "req/s",
        baseline: { label: "Fastify Map GET", value: get[0].rps },
        target: { op: ">=", value: 0.45 },
        otherLoad: Math.max(get[0].otherCores, get[1].otherCores),
        note: `SSE: ${describeLoad(get[1])} | baseline: ${describeLoad(get[0])}`,
      }),
      ratioRow({
        suite: "items",
        figure: "item POST 1 KiB (durable)",
        value: post[1].rps,
        unit: "req/s",
        baseline: { label: "Fastify Map POST", value: post[0].rps },
        target: { op: ">=", value: 0.3 },
        otherLoad: Math.max(post[0].otherCores, post[1].otherCores),
        note: `SSE: ${describeLoad(post[1])} | baseline: ${describeLoad(post[0])}`,
      }),
      ...seedRows,
      ...workerRows,
    ];
  },
};

export default suite;
