// (a) The seed's item API: 1 KiB item GET and durable POST, req/s, against the plain Fastify Map
// server measured in the same run. Targets: GET ≥ 0.6 of the baseline, durable POST ≥ 0.3.
// Baseline and server alternate in slices (ABAB…) so a burst of load from other processes on the
// shared machine falls on both rather than on one.
import { cpuMeter, otherLoadMeter, selfCpuMeter } from "../cpu-usage.js";
import type { LoadResult } from "../http-load.js";
import {
  checkItem,
  type ItemTarget,
  itemGetLoad,
  itemPostLoad,
  type LoadShape,
  preloadItems,
} from "../item-load.js";
import { servingPid } from "../rss.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

/** Ids the GET run cycles through, created before it on each server. */
const POOL_SIZE = 1000;

interface Slice {
  load: LoadResult;
  serverCpu: number;
  clientCpu: number;
  otherCores: number;
}

export interface Measured {
  rps: number;
  ok: number;
  failed: number;
  seconds: number;
  /** Mean of the slices' p50 weighted by answers; the worst slice's p99. */
  p50Ms: number;
  p99Ms: number;
  serverCores: number;
  clientCores: number;
  otherCores: number;
  statuses: Record<string, number>;
  slices: Slice[];
}

interface Side {
  target: ItemTarget;
  pid: number;
  run: (t: ItemTarget, shape: LoadShape) => Promise<LoadResult>;
}

async function slice(side: Side, others: number[], shape: LoadShape): Promise<Slice> {
  let server = cpuMeter(side.pid);
  let client = selfCpuMeter();
  let other = otherLoadMeter([side.pid, ...others]);
  const load = await side.run(side.target, {
    ...shape,
    beforeMeasure: () => {
      server = cpuMeter(side.pid);
      client = selfCpuMeter();
      other = otherLoadMeter([side.pid, ...others]);
    },
  });
  return { load, serverCpu: server().cpuSeconds, clientCpu: client().cpuSeconds, otherCores: other() };
}

function combine(slices: Slice[]): Measured {
  const ok = slices.reduce((s, x) => s + x.load.ok, 0);
  const seconds = slices.reduce((s, x) => s + x.load.seconds, 0);
  const statuses: Record<string, number> = {};
  for (const x of slices)
    for (const [c, n] of Object.entries(x.load.statuses)) statuses[c] = (statuses[c] ?? 0) + n;
  return {
    rps: seconds > 0 ? ok / seconds : 0,
    ok,
    failed: slices.reduce((s, x) => s + x.load.non2xx + x.load.errors, 0),
    seconds,
    p50Ms: ok > 0 ? slices.reduce((s, x) => s + x.load.latencyMs.p50 * x.load.ok, 0) / ok : Number.NaN,
    p99Ms: Math.max(...slices.map((x) => x.load.latencyMs.p99)),
    serverCores: slices.reduce((s, x) => s + x.serverCpu, 0) / seconds,
    clientCores: slices.reduce((s, x) => s + x.clientCpu, 0) / seconds,
    otherCores: slices.reduce((s, x) => s + x.otherCores * x.load.seconds, 0) / seconds,
    statuses,
    slices,
  };
}

/** Baseline and server in alternating slices; warm-up only before each one's first slice. */
async function alternate(
  ctx: SuiteContext,
  what: string,
  base: Side,
  sse: Side,
): Promise<[Measured, Measured]> {
  const { rounds, duration, warmup, connections } = ctx.opts;
  const per = duration / rounds;
  const slices: [Slice[], Slice[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    const shape = { connections, duration: per, warmup: r === 0 ? warmup : 0 };
    ctx.log(
      `items: ${what}, slice ${r + 1}/${rounds} (${shape.warmup > 0 ? `${shape.warmup} s warm-up + ` : ""}${per} s each)`,
    );
    slices[0].push(await slice(base, [sse.pid], shape));
    slices[1].push(await slice(sse, [base.pid], shape));
  }
  return [combine(slices[0]), combine(slices[1])];
}

function describe(m: Measured): string {
  const codes = Object.entries(m.statuses)
    .filter(([c]) => !c.startsWith("2"))
    .map(([c, n]) => `${n}×${c}`)
    .join(" ");
  return [
    `p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms} ms`,
    `server CPU ${m.serverCores.toFixed(2)} cores, load generator ${m.clientCores.toFixed(2)}`,
    ...(m.failed > 0 ? [`${m.failed} failed${codes ? ` (${codes})` : ""}`] : []),
  ].join("; ");
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
          "GET",
          { target: base, pid: basePid, run: (t, sh) => itemGetLoad(t, baseIds, sh) },
          { target: sse, pid: getServer.pid, run: (t, sh) => itemGetLoad(t, ids, sh) },
        );
      } finally {
        await getServer.stop();
      }

      const postServer = await ctx.startSse("items-post");
      try {
        const sse: ItemTarget = { url: postServer.url, token: postServer.token };
        post = await alternate(
          ctx,
          "POST",
          { target: base, pid: basePid, run: itemPostLoad },
          { target: sse, pid: postServer.pid, run: itemPostLoad },
        );
      } finally {
        await postServer.stop();
      }
    } finally {
      await baseline.stop();
    }

    const { connections, duration, warmup, rounds } = ctx.opts;
    ctx.detail("items", {
      connections,
      duration,
      warmup,
      rounds,
      poolSize: POOL_SIZE,
      get: { baseline: get[0], sse: get[1] },
      post: { baseline: post[0], sse: post[1] },
    });
    return [
      ratioRow({
        suite: "items",
        figure: "item GET 1 KiB",
        value: get[1].rps,
        unit: "req/s",
        baseline: { label: "Fastify Map GET", value: get[0].rps },
        target: { op: ">=", value: 0.6 },
        otherLoad: Math.max(get[0].otherCores, get[1].otherCores),
        note: `SSE: ${describe(get[1])} | baseline: ${describe(get[0])}`,
      }),
      ratioRow({
        suite: "items",
        figure: "item POST 1 KiB (durable)",
        value: post[1].rps,
        unit: "req/s",
        baseline: { label: "Fastify Map POST", value: post[0].rps },
        target: { op: ">=", value: 0.3 },
        otherLoad: Math.max(post[0].otherCores, post[1].otherCores),
        note: `SSE: ${describe(post[1])} | baseline: ${describe(post[0])}`,
      }),
    ];
  },
};

export default suite;
