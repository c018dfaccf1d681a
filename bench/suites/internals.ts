// What each reliance on another library's internals buys (issue 14): the same server with the
// shortcut and without it, in the same run, slices alternating (README, "Layout"; the switch is
// SSE_LIBRARY_SHORTCUTS, and SSE_GC_EVERY_MIB for young collections). A ratio above 1 is what the
// shortcut pays; one within noise of 1 says it no longer pays for itself.
//   request-line (pino's stream): item GET req/s at log level info, where every request logs a line.
//   lazy-logger (Fastify's child loggers): item GET req/s at level warn, where no request logs.
//   binary-copy (node-postgres): item GET req/s and object PUT/GET MB/s; with --store postgres only.
//   young collections (V8's --expose-gc): peak RSS of a PUT and a GET, and their MB/s.
import { alternate, describeLoad } from "../alternate.js";
import { getObject, MiB, patternBlock, putObject } from "../http-stream.js";
import { checkItem, type ItemTarget, itemGetLoad, preloadItems } from "../item-load.js";
import { RssSampler } from "../rss.js";
import type { SseServer } from "../sse-server.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const POOL_SIZE = 1000;
const ALL = "request-line,lazy-logger,binary-copy";

/** `ALL` without one shortcut. */
const without = (name: string) =>
  ALL.split(",")
    .filter((s) => s !== name)
    .join(",");

/** Item GET req/s of two fresh servers (with the shortcut, without it), alternating. */
async function itemGetRows(
  ctx: SuiteContext,
  name: string,
  figure: string,
  env: Record<string, string>,
): Promise<Row> {
  const on = await ctx.startSse(`${name}-on`, { ...env, SSE_LIBRARY_SHORTCUTS: ALL });
  const off = await ctx.startSse(`${name}-off`, { ...env, SSE_LIBRARY_SHORTCUTS: without(name) });
  try {
    const a: ItemTarget = { url: on.url, token: on.token };
    const b: ItemTarget = { url: off.url, token: off.token };
    const [aIds, bIds] = [await preloadItems(a, POOL_SIZE), await preloadItems(b, POOL_SIZE)];
    await checkItem(a, aIds[0]!);
    await checkItem(b, bIds[0]!);
    const [withIt, withoutIt] = await alternate(
      ctx,
      `internals: item GET, ${name} on/off`,
      { target: a, pid: on.pid, run: (t, sh) => itemGetLoad(t, aIds, sh) },
      { target: b, pid: off.pid, run: (t, sh) => itemGetLoad(t, bIds, sh) },
    );
    ctx.detail(`internals.${name}.items`, { withIt, withoutIt });
    return ratioRow({
      suite: "internals",
      figure,
      value: withIt.rps,
      unit: "req/s",
      baseline: { label: `same, ${name} off`, value: withoutIt.rps },
      otherLoad: Math.max(withIt.otherCores, withoutIt.otherCores),
      note: `on: ${describeLoad(withIt)} | off: ${describeLoad(withoutIt)}`,
    });
  } finally {
    await on.stop();
    await off.stop();
  }
}

interface Transfer {
  put: number;
  get: number;
  peakMb: number;
}

/** One PUT and one GET of `bytes` through `s`, with the server's peak RSS meanwhile. */
async function transfer(s: SseServer, bytes: number, n: number): Promise<Transfer> {
  const block = patternBlock();
  const url = `${s.url}/data/bench/internals-${n}.bin`;
  const rss = new RssSampler(s.pid).start();
  try {
    const put = await putObject({ url, token: s.token, block, bytes });
    if (put.status !== 201) throw new Error(`PUT answered ${put.status}: ${put.body?.slice(0, 200)}`);
    const get = await getObject({ url, token: s.token, block, bytes });
    if (!get.verified) throw new Error(`GET answered ${get.status} with bytes that do not match`);
    return { put: put.mbps, get: get.mbps, peakMb: rss.stop().peakMb };
  } finally {
    rss.stop();
  }
}

/** Two servers, each moving the object twice, alternating; the best of each side. */
async function transferRows(
  ctx: SuiteContext,
  name: string,
  onEnv: Record<string, string>,
  offEnv: Record<string, string>,
  bytes: number,
): Promise<Row[]> {
  const on = await ctx.startSse(`${name}-on`, onEnv);
  const off = await ctx.startSse(`${name}-off`, offEnv);
  const ons: Transfer[] = [];
  const offs: Transfer[] = [];
  try {
    ctx.log(`internals: PUT + GET ${bytes / MiB} MiB, ${name} on, off, on, off`);
    for (let n = 0; n < 2; n++) {
      ons.push(await transfer(on, bytes, n));
      offs.push(await transfer(off, bytes, n));
    }
  } finally {
    await on.stop();
    await off.stop();
  }
  ctx.detail(`internals.${name}.transfers`, { on: ons, off: offs });
  // The best speed, and the highest peak: each side's most favourable and least favourable run.
  const best = (xs: Transfer[], k: keyof Transfer) => Math.max(...xs.map((x) => x[k]));
  const list = (xs: Transfer[], k: keyof Transfer) => xs.map((x) => x[k].toFixed(0)).join(", ");
  const mib = bytes / MiB;
  const figures: [keyof Transfer, string, string, string][] = [
    ["put", `object PUT ${mib} MiB`, "MB/s", "best of two each"],
    ["get", `object GET ${mib} MiB`, "MB/s", "best of two each"],
    ["peakMb", `server peak RSS, PUT + GET ${mib} MiB`, "MB", "peaks (lower is better)"],
  ];
  return figures.map(([k, figure, unit, how]) =>
    ratioRow({
      suite: "internals",
      figure: `${figure}, ${name} on`,
      value: best(ons, k),
      unit,
      baseline: { label: `same, ${name} off`, value: best(offs, k) },
      note: `${how}: on ${list(ons, k)}, off ${list(offs, k)} ${unit}`,
    }),
  );
}

const suite: Suite = {
  name: "internals",
  order: 90,
  defaultOn: false,
  description:
    "what each use of a library's internals buys: the server with and without it (SSE_LIBRARY_SHORTCUTS, SSE_GC_EVERY_MIB)",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const rows: Row[] = [];
    rows.push(
      await itemGetRows(ctx, "request-line", "item GET, log level info, request-line on", {
        SSE_LOG_LEVEL: "info",
      }),
    );
    rows.push(
      await itemGetRows(ctx, "lazy-logger", "item GET, log level warn, lazy-logger on", {
        SSE_LOG_LEVEL: "warn",
      }),
    );
    if (ctx.opts.store === "postgres") {
      rows.push(await itemGetRows(ctx, "binary-copy", "item GET, binary-copy on", {}));
      const bytes = Math.min(ctx.opts.sizeMib, 256) * MiB;
      rows.push(
        ...(await transferRows(
          ctx,
          "binary-copy",
          { SSE_LIBRARY_SHORTCUTS: ALL },
          { SSE_LIBRARY_SHORTCUTS: without("binary-copy") },
          bytes,
        )),
      );
    } else {
      ctx.log("internals: binary-copy is measured with --store postgres only");
    }
    rows.push(
      ...(await transferRows(
        ctx,
        "young-gc",
        { SSE_GC_EVERY_MIB: "8" },
        { SSE_GC_EVERY_MIB: "0" },
        ctx.opts.sizeMib * MiB,
      )),
    );
    return rows;
  },
};

export default suite;
