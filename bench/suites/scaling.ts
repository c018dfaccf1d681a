// Scaling of the object path (issue 16's closing figure): PUT and GET of one object of 1, 4 and
// 16 GiB, and PUT and GET of 10,000 objects of 256 KiB, 8 at a time. Every figure is a ratio to the
// 1 GiB GET (or PUT) of the same run: the cost per byte must stay flat as the size grows. Not in
// the default run (it writes about 45 GiB); `npm run bench -- --only scaling`.

import { pool } from "../http-load.js";
import { getObject, MiB, patternBlock, putObject } from "../http-stream.js";
import { RssSampler } from "../rss.js";
import { type Row, ratioRow, type Suite, type SuiteContext, valueRow } from "../suite.js";

const SIZES_GIB = [1, 4, 16];
const SMALL_COUNT = 10_000;
const SMALL_BYTES = 256 * 1024;
const CONCURRENCY = 8;

const suite: Suite = {
  name: "scaling",
  order: 25,
  defaultOn: false,
  description: "object PUT/GET MB/s at 1, 4 and 16 GiB, and 10,000 × 256 KiB, as ratios to 1 GiB",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const block = patternBlock();
    const server = await ctx.startSse("scaling");
    const rss = new RssSampler(server.pid).start();
    const rows: Row[] = [];
    const figures: Record<string, { put: number; get: number }> = {};
    try {
      for (const gib of SIZES_GIB) {
        const bytes = gib * 1024 * MiB;
        const url = `${server.url}/data/bench/scaling-${gib}g.bin`;
        ctx.log(`scaling: PUT ${gib} GiB`);
        const put = await putObject({ url, token: server.token, block, bytes, stallMs: 300_000 });
        if (put.status !== 201)
          throw new Error(`PUT ${gib} GiB answered ${put.status}: ${put.body?.slice(0, 300)}`);
        ctx.log(`scaling: GET ${gib} GiB`);
        const get = await getObject({ url, token: server.token, block, bytes, stallMs: 300_000 });
        if (!get.verified)
          throw new Error(`GET ${gib} GiB: status ${get.status}, ${get.bytes} bytes, not verified`);
        figures[`${gib}g`] = { put: put.mbps, get: get.mbps };
        // Room for the next size: the 16 GiB run needs no 21 GiB at once.
        const del = await fetch(url, {
          method: "DELETE",
          headers: { authorization: `Bearer ${server.token}` },
        });
        if (del.status !== 204) throw new Error(`DELETE answered ${del.status}`);
      }
      const base = figures["1g"]!;
      for (const gib of SIZES_GIB.slice(1)) {
        const f = figures[`${gib}g`]!;
        for (const op of ["put", "get"] as const)
          rows.push(
            ratioRow({
              suite: "scaling",
              figure: `object ${op.toUpperCase()} ${gib} GiB`,
              value: f[op],
              unit: "MB/s",
              baseline: { label: `object ${op.toUpperCase()} 1 GiB`, value: base[op] },
              target: { op: ">=", value: 0.8 },
            }),
          );
      }

      const small = new Uint8Array(block.subarray(0, SMALL_BYTES));
      const ids = Array.from({ length: SMALL_COUNT }, (_, i) => i);
      const auth = { authorization: `Bearer ${server.token}` };
      ctx.log(`scaling: PUT ${SMALL_COUNT} × 256 KiB, ${CONCURRENCY} at a time`);
      let t0 = performance.now();
      await pool(ids, CONCURRENCY, async (i) => {
        const r = await fetch(`${server.url}/data/bench/small/${i}`, {
          method: "PUT",
          headers: auth,
          body: small,
        });
        if (r.status !== 201) throw new Error(`PUT small ${i}: ${r.status}`);
        await r.arrayBuffer();
      });
      const putSmall = (SMALL_COUNT * SMALL_BYTES) / ((performance.now() - t0) / 1000) / 1e6;
      ctx.log(`scaling: GET ${SMALL_COUNT} × 256 KiB, ${CONCURRENCY} at a time`);
      t0 = performance.now();
      await pool(ids, CONCURRENCY, async (i) => {
        const r = await fetch(`${server.url}/data/bench/small/${i}`, { headers: auth });
        const got = Buffer.from(await r.arrayBuffer());
        if (r.status !== 200 || !got.equals(Buffer.from(small)))
          throw new Error(`GET small ${i}: ${r.status}`);
      });
      const getSmall = (SMALL_COUNT * SMALL_BYTES) / ((performance.now() - t0) / 1000) / 1e6;
      for (const [op, v] of [
        ["PUT", putSmall],
        ["GET", getSmall],
      ] as const)
        rows.push(
          ratioRow({
            suite: "scaling",
            figure: `${SMALL_COUNT.toLocaleString("en")} × 256 KiB ${op}, ${CONCURRENCY} at a time`,
            value: v,
            unit: "MB/s",
            baseline: {
              label: `object ${op} 1 GiB`,
              value: op === "PUT" ? base.put : base.get,
            },
            note: "inline in objects.db (below the 1 MiB blob threshold); fetch() client, which also verifies every byte",
          }),
        );
    } finally {
      const r = rss.stop();
      rows.push(
        valueRow({
          suite: "scaling",
          figure: "server peak RSS during the whole suite",
          value: r.peakMb,
          unit: "MB",
          target: { op: "<=", value: 150 },
          note: `at start ${r.startMb.toFixed(0)} MB`,
        }),
      );
      ctx.detail("scaling", figures);
      await server.stop();
    }
    return rows;
  },
};

export default suite;
