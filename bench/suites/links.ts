// What a download link costs: GET of a 1 KiB object through its link (no token: parse, MAC under
// the owner's cached KEK, token and object lookups) against GET /data/{id} with the bearer token,
// on the same server in alternating slices, over a pool of objects. Target: link ≥ 0.8 of bearer.
import { alternate, describeLoad } from "../alternate.js";
import { measureLoad, pool } from "../http-load.js";
import type { ItemTarget, LoadShape } from "../item-load.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const POOL_SIZE = 500;
const BODY = Buffer.alloc(1024, 0x61);

async function makeObject(t: ItemTarget, i: number): Promise<{ id: string; linkPath: string }> {
  const id = `bench/obj-${i}`;
  const put = await fetch(`${t.url}/data/${id}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/octet-stream" },
    body: new Uint8Array(BODY),
  });
  if (!put.ok) throw new Error(`PUT ${id} answered ${put.status}`);
  const link = await fetch(`${t.url}/data/${id}/link`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body: JSON.stringify({ expiresInSeconds: 3600 }),
  });
  if (link.status !== 201) throw new Error(`POST ${id}/link answered ${link.status}`);
  const { url } = (await link.json()) as { url: string };
  return { id, linkPath: new URL(url).pathname };
}

function cycle(paths: string[]): () => string {
  let i = 0;
  return () => paths[i++ % paths.length] ?? "/";
}

const suite: Suite = {
  name: "links",
  order: 25,
  defaultOn: true,
  description: "1 KiB object GET through a download link vs GET /data/{id} with a bearer token",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const server = await ctx.startSse("links");
    let result: Awaited<ReturnType<typeof alternate>>;
    try {
      const t: ItemTarget = { url: server.url, token: server.token };
      ctx.log(`links: ${POOL_SIZE} objects of 1 KiB, a link each`);
      const objs = await pool(
        Array.from({ length: POOL_SIZE }, (_, i) => i),
        8,
        (i) => makeObject(t, i),
      );
      const check = await fetch(`${server.url}${objs[0]?.linkPath}`);
      if (check.status !== 200 || (await check.arrayBuffer()).byteLength !== BODY.length)
        throw new Error(`a link answered ${check.status}`);
      const bearer = (x: ItemTarget, sh: LoadShape) =>
        measureLoad({
          url: x.url,
          method: "GET",
          nextPath: cycle(objs.map((o) => `/data/${o.id}`)),
          headers: { authorization: `Bearer ${x.token}` },
          ...sh,
        });
      const viaLink = (x: ItemTarget, sh: LoadShape) =>
        measureLoad({ url: x.url, method: "GET", nextPath: cycle(objs.map((o) => o.linkPath)), ...sh });
      result = await alternate(
        ctx,
        "links: 1 KiB GET",
        { target: t, pid: server.pid, run: bearer },
        { target: t, pid: server.pid, run: viaLink },
      );
    } finally {
      await server.stop();
    }
    const [direct, link] = result;
    ctx.detail("links", { poolSize: POOL_SIZE, bearer: direct, link });
    return [
      ratioRow({
        suite: "links",
        figure: "1 KiB GET via download link",
        value: link.rps,
        unit: "req/s",
        baseline: { label: "1 KiB GET with bearer token", value: direct.rps },
        target: { op: ">=", value: 0.8 },
        otherLoad: Math.max(direct.otherCores, link.otherCores),
        note: `link: ${describeLoad(link)} | bearer: ${describeLoad(direct)}`,
      }),
    ];
  },
};

export default suite;
