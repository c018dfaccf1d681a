// The S3 API against the native API of the same server, in the same run: PutObject and GetObject of
// one large object (1 GiB by default) against the native PUT and GET; a multipart upload of the same
// size, 4 parts of 64 MiB in flight, against the single-stream native PUT, with the server's peak RSS
// meanwhile; and 4 KiB PutObject and GetObject operations per second against the native item POST
// and GET. Targets (issue 15): ≥ 0.9, ≥ 0.9, ≥ 1.0, ≤ 200 MB, ≥ 0.7, ≥ 0.7.
import { createHash } from "node:crypto";
import http from "node:http";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { SignatureV4 } from "@smithy/signature-v4";
import { s3Signer } from "../../test/helpers/s3-sign.js";
import { freePort } from "../../test/helpers/server-process.js";
import { measureLoad } from "../http-load.js";
import { getObject, MiB, patternBlock, putObject, type TransferResult } from "../http-stream.js";
import { checkItem, itemGetLoad, itemPostLoad, preloadItems } from "../item-load.js";
import { RssSampler } from "../rss.js";
import { type Row, ratioRow, type Suite, type SuiteContext, valueRow } from "../suite.js";

const UNSIGNED = "UNSIGNED-PAYLOAD";
const PART_BYTES = 64 * MiB;
const PARTS_IN_FLIGHT = 4;
const SMALL_BYTES = 4096;

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

function signer(keys: Keys): SignatureV4 {
  return s3Signer("us-east-1", keys.secretAccessKey, keys.accessKeyId);
}

/** The headers of a request signed as an SDK signs it (UNSIGNED-PAYLOAD: the body is streamed). */
async function signed(
  s: SignatureV4,
  base: string,
  method: string,
  path: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const u = new URL(base);
  const req = await s.sign({
    method,
    protocol: "http:",
    hostname: u.hostname,
    port: Number(u.port),
    path,
    query,
    headers: { host: u.host, "x-amz-content-sha256": UNSIGNED, ...headers },
  });
  return req.headers as Record<string, string>;
}

/** A presigned URL's path and query, as the SDK makes it (a request autocannon can replay). */
async function presign(keys: Keys, base: string, method: "GET" | "PUT", key: string): Promise<string> {
  const client = new S3Client({
    endpoint: base,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: keys,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  try {
    const command =
      method === "GET"
        ? new GetObjectCommand({ Bucket: "bench", Key: key })
        : new PutObjectCommand({ Bucket: "bench", Key: key });
    const url = new URL(await getSignedUrl(client, command, { expiresIn: 3600 }));
    return url.pathname + url.search;
  } finally {
    client.destroy();
  }
}

/** The raw GET client writes its own Host header; a second one would be refused. */
function withoutHost(h: Record<string, string>): Record<string, string> {
  const { host: _host, ...rest } = h;
  return rest;
}

async function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A multipart upload of `bytes`, `PARTS_IN_FLIGHT` parts of PART_BYTES streaming at once. */
async function multipartUpload(
  s: SignatureV4,
  base: string,
  path: string,
  block: Buffer,
  bytes: number,
): Promise<TransferResult> {
  const t0 = performance.now();
  const create = await call(
    base,
    "POST",
    `${path}?uploads=`,
    await signed(s, base, "POST", path, { uploads: "" }),
  );
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(create.text)?.[1];
  if (!uploadId)
    throw new Error(`CreateMultipartUpload answered ${create.status}: ${create.text.slice(0, 300)}`);
  const count = Math.ceil(bytes / PART_BYTES);
  const etags: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const size = Math.min(PART_BYTES, bytes - i * PART_BYTES);
      const query = { partNumber: String(i + 1), uploadId };
      const headers = await signed(s, base, "PUT", path, query, { "content-length": String(size) });
      const r = await putObject({
        url: `${base}${path}?${new URLSearchParams(query)}`,
        headers,
        block,
        bytes: size,
      });
      if (r.status !== 200)
        throw new Error(`UploadPart ${i + 1} answered ${r.status}: ${r.body?.slice(0, 300)}`);
      etags[i] = "";
    }
  };
  // Part ETags come back in a header putObject does not keep; ListParts gives them all at the end.
  await Promise.all(Array.from({ length: PARTS_IN_FLIGHT }, worker));
  const parts = await call(
    base,
    "GET",
    `${path}?${new URLSearchParams({ uploadId })}`,
    await signed(s, base, "GET", path, { uploadId }),
  );
  const listed = [...parts.text.matchAll(/<PartNumber>(\d+)<\/PartNumber>.*?<ETag>([^<]+)<\/ETag>/gs)];
  if (listed.length !== count) throw new Error(`ListParts listed ${listed.length} of ${count} parts`);
  const xml = `<CompleteMultipartUpload>${listed
    .map(([, n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`)
    .join("")}</CompleteMultipartUpload>`;
  const sha = createHash("sha256").update(xml).digest("hex");
  const done = await call(
    base,
    "POST",
    `${path}?${new URLSearchParams({ uploadId })}`,
    await signed(
      s,
      base,
      "POST",
      path,
      { uploadId },
      { "x-amz-content-sha256": sha, "content-length": String(xml.length) },
    ),
    xml,
  );
  if (done.status !== 200)
    throw new Error(`CompleteMultipartUpload answered ${done.status}: ${done.text.slice(0, 300)}`);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes, seconds, mbps: bytes / seconds / 1e6, status: done.status };
}

const suite: Suite = {
  name: "s3",
  order: 25,
  defaultOn: true,
  description:
    "S3 PutObject/GetObject and multipart vs the native API; 4 KiB S3 ops vs native items; peak RSS",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const mib = ctx.opts.sizeMib;
    const bytes = mib * MiB;
    const block = patternBlock();
    const s3Port = await freePort();
    const server = await ctx.startSse("s3", { SSE_S3_PORT: String(s3Port) });
    const s3Base = `http://127.0.0.1:${s3Port}`;
    const rows: Row[] = [];
    try {
      const made = await call(
        server.url,
        "POST",
        "/users/admin/access-keys",
        {
          authorization: `Bearer ${server.token}`,
          "content-type": "application/json",
        },
        "{}",
      );
      const keys = JSON.parse(made.text) as Keys;
      const s = signer(keys);
      await call(s3Base, "PUT", "/bench", await signed(s, s3Base, "PUT", "/bench"));

      ctx.log(`s3: native PUT ${mib} MiB`);
      const nativeUrl = `${server.url}/data/bench/native.bin`;
      const nPut = await putObject({ url: nativeUrl, token: server.token, block, bytes });
      ctx.log(`s3: S3 PutObject ${mib} MiB`);
      const sPath = "/bench/s3.bin";
      const sPut = await putObject({
        url: s3Base + sPath,
        headers: await signed(s, s3Base, "PUT", sPath, {}, { "content-length": String(bytes) }),
        block,
        bytes,
      });
      if (sPut.status !== 200)
        throw new Error(`PutObject answered ${sPut.status}: ${sPut.body?.slice(0, 300)}`);
      ctx.log(`s3: native GET, then S3 GetObject ${mib} MiB`);
      const nGet = await getObject({ url: nativeUrl, token: server.token, block, bytes });
      const sGet = await getObject({
        url: s3Base + sPath,
        headers: withoutHost(await signed(s, s3Base, "GET", sPath)),
        block,
        bytes,
      });
      ctx.log(
        `s3: multipart upload ${mib} MiB, ${PARTS_IN_FLIGHT} parts of ${PART_BYTES / MiB} MiB in flight`,
      );
      const rss = new RssSampler(server.pid).start();
      const mp = await multipartUpload(s, s3Base, "/bench/multipart.bin", block, bytes);
      const mpRss = rss.stop();
      const mpGet = await getObject({
        url: `${s3Base}/bench/multipart.bin`,
        headers: withoutHost(await signed(s, s3Base, "GET", "/bench/multipart.bin")),
        block,
        bytes,
      });

      ctx.log("s3: 4 KiB PutObject and GetObject vs native item POST and GET");
      const small = "s".repeat(SMALL_BYTES);
      const putPath = await presign(keys, s3Base, "PUT", "small-put");
      await call(
        s3Base,
        "PUT",
        "/bench/small-get",
        await signed(s, s3Base, "PUT", "/bench/small-get", {}, { "content-length": String(SMALL_BYTES) }),
        small,
      );
      const getPath = await presign(keys, s3Base, "GET", "small-get");
      const shape = {
        connections: ctx.opts.connections,
        duration: ctx.opts.duration,
        warmup: ctx.opts.warmup,
      };
      const target = { url: server.url, token: server.token };
      const ids = await preloadItems(target, 200);
      await checkItem(target, ids[0]!);
      const itemGet = await itemGetLoad(target, ids, shape);
      const s3Get = await measureLoad({ url: s3Base, method: "GET", path: getPath, ...shape });
      const itemPost = await itemPostLoad(target, shape);
      const s3Put = await measureLoad({
        url: s3Base,
        method: "PUT",
        path: putPath,
        body: small,
        headers: { "content-type": "application/octet-stream" },
        ...shape,
      });
      ctx.detail("s3", { nPut, sPut, nGet, sGet, mp, mpGet, mpRss, itemGet, s3Get, itemPost, s3Put });

      const verifiedNote = (g: { verified: boolean; status: number }) =>
        g.verified ? "every byte verified" : `NOT VERIFIED (status ${g.status})`;
      rows.push(
        ratioRow({
          suite: "s3",
          figure: `S3 PutObject ${mib} MiB`,
          value: sPut.mbps,
          unit: "MB/s",
          baseline: { label: "native PUT, same server", value: nPut.mbps },
          target: { op: ">=", value: 0.9 },
          note: `${sPut.seconds.toFixed(1)} s (native ${nPut.seconds.toFixed(1)} s); UNSIGNED-PAYLOAD`,
        }),
        ratioRow({
          suite: "s3",
          figure: `S3 GetObject ${mib} MiB`,
          value: sGet.mbps,
          unit: "MB/s",
          baseline: { label: "native GET, same server", value: nGet.mbps },
          target: { op: ">=", value: 0.9 },
          note: `${verifiedNote(sGet)}; native ${verifiedNote(nGet)}`,
        }),
        ratioRow({
          suite: "s3",
          figure: `S3 multipart ${mib} MiB, ${PARTS_IN_FLIGHT}×${PART_BYTES / MiB} MiB in flight`,
          value: mp.mbps,
          unit: "MB/s",
          baseline: { label: "native single-stream PUT", value: nPut.mbps },
          target: { op: ">=", value: 1.0 },
          note: `${mp.seconds.toFixed(1)} s; read back ${mpGet.mbps.toFixed(0)} MB/s, ${verifiedNote(mpGet)}`,
        }),
        valueRow({
          suite: "s3",
          figure: "server peak RSS during the multipart upload",
          value: mpRss.peakMb,
          unit: "MB",
          target: { op: "<=", value: 200 },
          note: `at start ${mpRss.startMb.toFixed(0)} MB; ${mpRss.samples} samples every 50 ms`,
        }),
        ratioRow({
          suite: "s3",
          figure: "S3 GetObject 4 KiB",
          value: s3Get.rps,
          unit: "req/s",
          baseline: { label: "native item GET 1 KiB", value: itemGet.rps },
          target: { op: ">=", value: 0.7 },
          note: `p50 ${s3Get.latencyMs.p50} ms; ${s3Get.non2xx} non-2xx`,
        }),
        ratioRow({
          suite: "s3",
          figure: "S3 PutObject 4 KiB",
          value: s3Put.rps,
          unit: "req/s",
          baseline: { label: "native item POST 1 KiB", value: itemPost.rps },
          target: { op: ">=", value: 0.7 },
          note: `p50 ${s3Put.latencyMs.p50} ms; ${s3Put.non2xx} non-2xx (durable, replaces one key)`,
        }),
      );
      if (!sGet.verified || !mpGet.verified) for (const r of rows.slice(1, 3)) r.pass = false;
    } finally {
      await server.stop();
    }
    return rows;
  },
};

export default suite;
