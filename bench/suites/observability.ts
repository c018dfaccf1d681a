// What request logging costs: item GET req/s of a server logging one JSON line per request
// (SSE_LOG_LEVEL=info, the default) against the same server at warn, which writes no request
// lines. Both are SSE servers with their metrics on; slices alternate. Target: info ≥ 0.8 of warn.
import { alternate, describeLoad } from "../alternate.js";
import { checkItem, type ItemTarget, itemGetLoad, preloadItems } from "../item-load.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const POOL_SIZE = 500;

const suite: Suite = {
  name: "observability",
  order: 30,
  defaultOn: true,
  description: "item GET req/s with a request log line per request (info) vs without (warn)",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const quiet = await ctx.startSse("log-warn", { SSE_LOG_LEVEL: "warn" });
    const loud = await ctx.startSse("log-info", { SSE_LOG_LEVEL: "info" });
    try {
      const q: ItemTarget = { url: quiet.url, token: quiet.token };
      const l: ItemTarget = { url: loud.url, token: loud.token };
      ctx.log(`observability: preloading ${POOL_SIZE} items on each server`);
      const qIds = await preloadItems(q, POOL_SIZE);
      const lIds = await preloadItems(l, POOL_SIZE);
      await checkItem(q, qIds[0]!);
      await checkItem(l, lIds[0]!);
      const [base, logged] = await alternate(
        ctx,
        "observability: GET, request log off/on",
        { target: q, pid: quiet.pid, run: (t, sh) => itemGetLoad(t, qIds, sh) },
        { target: l, pid: loud.pid, run: (t, sh) => itemGetLoad(t, lIds, sh) },
      );
      const lines = loud.harness
        .output()
        .split("\n")
        .filter((s) => s.includes('"request completed"')).length;
      ctx.detail("observability", { base, logged, requestLines: lines });
      return [
        ratioRow({
          suite: "observability",
          figure: "item GET, request log on",
          value: logged.rps,
          unit: "req/s",
          baseline: { label: "same, request log off", value: base.rps },
          target: { op: ">=", value: 0.8 },
          otherLoad: Math.max(base.otherCores, logged.otherCores),
          note: `info: ${describeLoad(logged)}; ${lines} request lines | warn: ${describeLoad(base)}`,
        }),
      ];
    } finally {
      await quiet.stop();
      await loud.stop();
    }
  },
};

export default suite;
