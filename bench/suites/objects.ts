// (b) PUT and GET of one large object (1 GiB by default), MB/s, against the disk's sequential write
// speed with fsync and the AEAD's single-core open speed, both measured in this run; (c) the
// server's peak RSS meanwhile. Targets (issue 16): PUT ≥ 0.8 of disk, GET ≥ 0.5 of AEAD, peak RSS ≤ 150 MB.
import { loadConfig } from "../../src/config.js";
import { chooseCipher } from "../../src/crypto/cipher-choice.js";
import { SUITE_AES256GCM } from "../../src/crypto/segment-format.js";
import { measureAead } from "../aead-speed.js";
import { cpuMeter, otherLoadMeter, selfCpuMeter } from "../cpu-usage.js";
import { measureDiskWrite } from "../disk-speed.js";
import { getObject, MiB, patternBlock, putObject, type TransferResult } from "../http-stream.js";
import { type RssReport, RssSampler } from "../rss.js";
import { type Row, ratioRow, type Suite, type SuiteContext, valueRow } from "../suite.js";

const OBJECT_ID = "bench/large-object.bin";

interface Metered<T> {
  result: T;
  server: { cores: number; cpuSeconds: number };
  clientCores: number;
  otherCores: number;
}

/** Runs `fn`, metering the CPU of the server (when given), of this process and of everything else. */
async function metered<T>(pid: number | undefined, fn: () => T | Promise<T>): Promise<Metered<T>> {
  const server = pid === undefined ? undefined : cpuMeter(pid);
  const client = selfCpuMeter();
  const other = otherLoadMeter(pid === undefined ? [] : [pid]);
  const result = await fn();
  return {
    result,
    server: server?.() ?? { cores: 0, cpuSeconds: 0 },
    clientCores: client().cores,
    otherCores: other(),
  };
}

/** Bytes per CPU-second of the server: what the transfer would reach with a core of its own. */
function cpuNote(m: Metered<TransferResult>): string {
  const perCpu = m.server.cpuSeconds > 0 ? m.result.bytes / m.server.cpuSeconds / 1e6 : Number.NaN;
  return `server CPU ${m.server.cores.toFixed(2)} cores (${perCpu.toFixed(0)} MB per server CPU-second), client ${m.clientCores.toFixed(2)} cores`;
}

const suite: Suite = {
  name: "objects",
  order: 20,
  defaultOn: true,
  description: "large object PUT/GET MB/s vs disk write+fsync and single-core AEAD; server peak RSS",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const mib = ctx.opts.sizeMib;
    const bytes = mib * MiB;
    const block = patternBlock();

    ctx.log(`objects: disk sequential write of ${mib} MiB + fsync in ${ctx.opts.dataRoot}`);
    const disk = await metered(undefined, () => measureDiskWrite(ctx.opts.dataRoot, bytes, block));

    const server = await ctx.startSse("objects");
    const rss = new RssSampler(server.pid).start();
    const url = `${server.url}/data/${OBJECT_ID}`;
    let put: Metered<TransferResult>;
    let get: Metered<TransferResult & { verified: boolean }>;
    let putRss: RssReport;
    let getRss: RssReport;
    try {
      ctx.log(`objects: PUT ${mib} MiB`);
      put = await metered(server.pid, () => putObject({ url, token: server.token, block, bytes }));
      putRss = rss.mark();
      const p = put.result;
      if (p.status !== 201) throw new Error(`PUT answered ${p.status}: ${p.body?.slice(0, 300)}`);
      const info = JSON.parse(p.body ?? "{}") as { size?: number };
      if (info.size !== bytes) throw new Error(`PUT stored ${info.size} bytes, sent ${bytes}`);

      ctx.log(`objects: GET ${mib} MiB`);
      get = await metered(server.pid, () => getObject({ url, token: server.token, block, bytes }));
    } finally {
      getRss = rss.stop();
      await server.stop();
    }

    ctx.log("objects: AEAD single-core speed");
    const aead = await metered(undefined, () => measureAead());
    const a = aead.result;
    // The suite the server sealed with (SSE_CIPHER from --server-env, else auto, decided on this
    // same machine): GET is measured against that AEAD's raw open.
    const serverSuite = chooseCipher(loadConfig({ SSE_CIPHER: ctx.opts.serverEnv.SSE_CIPHER }).cipher);
    const gcm = serverSuite.suite === SUITE_AES256GCM;

    ctx.detail("objects", { bytes, disk, put, get, rss: { put: putRss, get: getRss }, aead });
    const g = get.result;
    const getRow = ratioRow({
      suite: "objects",
      figure: `object GET ${mib} MiB`,
      value: g.mbps,
      unit: "MB/s",
      // The AEAD itself (its library, one core): the stricter of the two.
      baseline: gcm
        ? { label: "AEAD open (AES-256-GCM, node:crypto), 1 core", value: a.gcm.rawOpenMbps }
        : { label: "AEAD open (XChaCha20-Poly1305, sodium), 1 core", value: a.rawOpenMbps },
      target: { op: ">=", value: 0.5 },
      otherLoad: Math.max(get.otherCores, aead.otherCores),
      note: `${g.seconds.toFixed(1)} s, ${cpuNote(get)}, ${
        g.verified ? "every byte verified" : `NOT VERIFIED (status ${g.status}, ${g.bytes} bytes)`
      }`,
    });
    if (!g.verified) getRow.pass = false;
    const d = disk.result;
    return [
      ratioRow({
        suite: "objects",
        figure: `object PUT ${mib} MiB`,
        value: put.result.mbps,
        unit: "MB/s",
        baseline: { label: "disk write+fsync", value: d.mbps },
        target: { op: ">=", value: 0.8 },
        otherLoad: Math.max(put.otherCores, disk.otherCores),
        note: `${put.result.seconds.toFixed(1)} s, ${cpuNote(put)}; disk: ${d.seconds.toFixed(1)} s of which fsync ${d.fsyncSeconds.toFixed(1)} s`,
      }),
      getRow,
      valueRow({
        suite: "objects",
        figure: "server peak RSS during PUT+GET",
        value: Math.max(putRss.peakMb, getRss.peakMb),
        unit: "MB",
        target: { op: "<=", value: 150 },
        otherLoad: Math.max(put.otherCores, get.otherCores),
        note: `at start ${putRss.startMb.toFixed(0)} MB; peak in PUT ${putRss.peakMb.toFixed(0)} MB, in GET ${getRss.peakMb.toFixed(0)} MB; ${putRss.samples + getRss.samples} samples every 50 ms`,
      }),
      ratioRow({
        suite: "objects",
        figure: "AEAD open via segment cipher",
        value: a.projectOpenMbps,
        unit: "MB/s",
        baseline: { label: "raw sodium open", value: a.rawOpenMbps },
        otherLoad: aead.otherCores,
        note: `XChaCha20-Poly1305; seal: segment cipher ${a.projectSealMbps.toFixed(0)} MB/s, raw ${a.rawSealMbps.toFixed(0)} MB/s (64 KiB segments, 1 core, best of 5 interleaved 0.2 s slices)`,
      }),
      ratioRow({
        suite: "objects",
        figure: "AES-256-GCM open via segment cipher",
        value: a.gcm.projectOpenMbps,
        unit: "MB/s",
        baseline: { label: "raw node:crypto open", value: a.gcm.rawOpenMbps },
        otherLoad: aead.otherCores,
        note: `seal: segment cipher ${a.gcm.projectSealMbps.toFixed(0)} MB/s, raw ${a.gcm.rawSealMbps.toFixed(0)} MB/s; the server seals new writes with ${serverSuite.name} (${serverSuite.reason})`,
      }),
    ];
  },
};

export default suite;
