// Load runs that compare two sides (a baseline and a server, or two ways of calling one server)
// in alternating slices, with the CPU of each side, of the load generator and of everything else.
import { cpuMeter, otherLoadMeter, selfCpuMeter } from "./cpu-usage.js";
import type { LoadResult } from "./http-load.js";
import type { ItemTarget, LoadShape } from "./item-load.js";
import type { SuiteContext } from "./suite.js";

export interface Slice {
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

export interface Side {
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

/**
 * Baseline and server in alternating slices (ABAB…), so a burst of load from other processes on the
 * shared machine falls on both rather than on one; warm-up only before each one's first slice.
 * `what` prefixes the progress lines ("items: GET").
 */
export async function alternate(
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
      `${what}, slice ${r + 1}/${rounds} (${shape.warmup > 0 ? `${shape.warmup} s warm-up + ` : ""}${per} s each)`,
    );
    slices[0].push(await slice(base, [sse.pid], shape));
    slices[1].push(await slice(sse, [base.pid], shape));
  }
  return [combine(slices[0]), combine(slices[1])];
}

/** One line of latency, CPU and failures for a table note. */
export function describeLoad(m: Measured): string {
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
