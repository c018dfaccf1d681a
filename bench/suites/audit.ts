// What the audit log costs (issue 17): the same server with SSE_AUDIT on and off, in the same run.
// (a) durable 1 KiB item POST req/s, slices alternating; target on ≥ 0.8 of off. (b) PUT of one
// large object (--size-mib, 1 GiB by default), off, on, off, on, each after a `sync` so that none
// pays for the dirty pages of the one before; the best of each side; target on ≥ 0.95 of off.
import { execFileSync } from "node:child_process";
import { alternate, describeLoad } from "../alternate.js";
import { MiB, patternBlock, putObject } from "../http-stream.js";
import { itemPostLoad } from "../item-load.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const suite: Suite = {
  name: "audit",
  order: 35,
  defaultOn: true,
  description: "durable item POST req/s and 1 GiB PUT MB/s with the audit log on vs off (SSE_AUDIT)",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const off = await ctx.startSse("audit-off", { SSE_AUDIT: "false" });
    const on = await ctx.startSse("audit-on", { SSE_AUDIT: "true" });
    try {
      const [base, audited] = await alternate(
        ctx,
        "audit: item POST, audit off/on",
        { target: { url: off.url, token: off.token }, pid: off.pid, run: itemPostLoad },
        { target: { url: on.url, token: on.token }, pid: on.pid, run: itemPostLoad },
      );
      const bytes = ctx.opts.sizeMib * MiB;
      const block = patternBlock();
      const put = async (s: typeof on, n: number) => {
        execFileSync("sync");
        const r = await putObject({
          url: `${s.url}/data/bench/audit-${n}.bin`,
          token: s.token,
          block,
          bytes,
        });
        if (r.status !== 201) throw new Error(`PUT answered ${r.status}: ${r.body?.slice(0, 200)}`);
        return r.mbps;
      };
      ctx.log(`audit: PUT ${ctx.opts.sizeMib} MiB, audit off, on, off, on`);
      const offs: number[] = [];
      const ons: number[] = [];
      for (let n = 0; n < 2; n++) {
        offs.push(await put(off, n));
        ons.push(await put(on, n));
      }
      ctx.detail("audit", { base, audited, put: { off: offs, on: ons } });
      return [
        ratioRow({
          suite: "audit",
          figure: "item POST 1 KiB (durable), audit on",
          value: audited.rps,
          unit: "req/s",
          baseline: { label: "same, audit off", value: base.rps },
          target: { op: ">=", value: 0.8 },
          otherLoad: Math.max(base.otherCores, audited.otherCores),
          note: `on: ${describeLoad(audited)} | off: ${describeLoad(base)}`,
        }),
        ratioRow({
          suite: "audit",
          figure: `object PUT ${ctx.opts.sizeMib} MiB, audit on`,
          value: Math.max(...ons),
          unit: "MB/s",
          baseline: { label: "same, audit off", value: Math.max(...offs) },
          target: { op: ">=", value: 0.95 },
          note: `best of two each, alternating: off ${offs.map((x) => x.toFixed(0)).join(", ")}, on ${ons.map((x) => x.toFixed(0)).join(", ")} MB/s`,
        }),
      ];
    } finally {
      await off.stop();
      await on.stop();
    }
  },
};

export default suite;
