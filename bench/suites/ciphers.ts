// The two segment suites through the server (docs/FORMAT.md, "Suites"): PUT and GET of one large
// object (--size-mib) with SSE_CIPHER=aes256gcm and with SSE_CIPHER=xchacha20poly1305, each a fresh
// server, in alternating rounds, best of each. The rows give AES-256-GCM as a ratio of
// XChaCha20-Poly1305 measured in the same run; informational (issue 16 sets its targets on the
// objects suite, against the disk and the AEAD).
import { cpuMeter, otherLoadMeter } from "../cpu-usage.js";
import { getObject, MiB, patternBlock, putObject, type TransferResult } from "../http-stream.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const OBJECT_ID = "bench/cipher-object.bin";
const ROUNDS = 2;
const CIPHERS = ["xchacha20poly1305", "aes256gcm"] as const;
type Cipher = (typeof CIPHERS)[number];

interface Best {
  put: TransferResult | null;
  get: TransferResult | null;
  /** Server CPU-seconds of the best PUT and GET. */
  putCpu: number;
  getCpu: number;
  otherLoad: number;
}

const better = (a: TransferResult | null, b: TransferResult) => (a && a.mbps >= b.mbps ? a : b);

async function round(ctx: SuiteContext, cipher: Cipher, bytes: number, best: Best): Promise<void> {
  const block = patternBlock();
  const server = await ctx.startSse(`ciphers-${cipher}`, { SSE_CIPHER: cipher });
  const url = `${server.url}/data/${OBJECT_ID}`;
  try {
    const other = otherLoadMeter([server.pid]);
    let cpu = cpuMeter(server.pid);
    const put = await putObject({ url, token: server.token, block, bytes });
    const putCpu = cpu().cpuSeconds;
    if (put.status !== 201)
      throw new Error(`PUT with ${cipher} answered ${put.status}: ${put.body?.slice(0, 300)}`);
    cpu = cpuMeter(server.pid);
    const get = await getObject({ url, token: server.token, block, bytes });
    const getCpu = cpu().cpuSeconds;
    if (!get.verified)
      throw new Error(`GET with ${cipher}: NOT VERIFIED (status ${get.status}, ${get.bytes} bytes)`);
    if (best.put !== better(best.put, put)) {
      best.put = put;
      best.putCpu = putCpu;
    }
    if (best.get !== better(best.get, get)) {
      best.get = get;
      best.getCpu = getCpu;
    }
    best.otherLoad = Math.max(best.otherLoad, other());
  } finally {
    await server.stop();
  }
}

const perCpu = (t: TransferResult, cpu: number) => (cpu > 0 ? (t.bytes / cpu / 1e6).toFixed(0) : "?");

const suite: Suite = {
  name: "ciphers",
  order: 21,
  defaultOn: true,
  description: "large object PUT/GET MB/s through the server: AES-256-GCM vs XChaCha20-Poly1305 (SSE_CIPHER)",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const mib = ctx.opts.sizeMib;
    const bytes = mib * MiB;
    const best: Record<Cipher, Best> = {
      xchacha20poly1305: { put: null, get: null, putCpu: 0, getCpu: 0, otherLoad: 0 },
      aes256gcm: { put: null, get: null, putCpu: 0, getCpu: 0, otherLoad: 0 },
    };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternating order, so that neither suite always runs on the warmer page cache.
      for (const cipher of r % 2 === 0 ? CIPHERS : [...CIPHERS].reverse()) {
        ctx.log(`ciphers: round ${r + 1}/${ROUNDS}, ${cipher}: PUT and GET ${mib} MiB`);
        await round(ctx, cipher, bytes, best[cipher]);
      }
    }
    ctx.detail("ciphers", { bytes, rounds: ROUNDS, best });
    const x = best.xchacha20poly1305;
    const g = best.aes256gcm;
    const otherLoad = Math.max(x.otherLoad, g.otherLoad);
    return (["put", "get"] as const).map((op) => {
      const gt = g[op]!;
      const xt = x[op]!;
      const gCpu = op === "put" ? g.putCpu : g.getCpu;
      const xCpu = op === "put" ? x.putCpu : x.getCpu;
      return ratioRow({
        suite: "ciphers",
        figure: `object ${op.toUpperCase()} ${mib} MiB, AES-256-GCM`,
        value: gt.mbps,
        unit: "MB/s",
        baseline: { label: `same, XChaCha20-Poly1305`, value: xt.mbps },
        otherLoad,
        note: `best of ${ROUNDS}; MB per server CPU-second: AES-256-GCM ${perCpu(gt, gCpu)}, XChaCha20-Poly1305 ${perCpu(xt, xCpu)}`,
      });
    });
  },
};

export default suite;
