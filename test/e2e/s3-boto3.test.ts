// The S3 API against the real boto3 (the python3 on PATH), with its default settings: every
// checksum algorithm, in headers and in aws-chunked trailers; upload_file/download_file of 100 MiB
// in parts; ranges; paginators; DeleteObjects; presigned URLs (SigV2 by default, SigV4) fetched by
// another client; conditional writes; error codes; virtual-hosted style. The scenarios are in
// clients/boto3_s3.py, which reports what boto3 saw; this file judges it.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool, toolEnv } from "../helpers/cli-tool.js";
import { announceSkip, issueAccessKey, type S3Keys } from "../helpers/s3-client-setup.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { MiB, sha256 } from "../helpers/transfer.js";

const SCRIPT = path.join(import.meta.dirname, "clients/boto3_s3.py");
/** The python3 on PATH if it has boto3, else Debian's (where .ci/run's apt fallback puts python3-boto3). */
const PYTHON = ["python3", "/usr/bin/python3"].find(
  (py) => spawnSync(py, ["-c", "import boto3"], { encoding: "utf8" }).status === 0,
);
const BOTO3 = PYTHON
  ? spawnSync(PYTHON, ["-c", "import boto3; print(boto3.__version__)"], { encoding: "utf8" }).stdout.trim()
  : undefined;
if (!BOTO3)
  announceSkip(
    "the boto3 tests",
    "python3 cannot import boto3 (pip install boto3, or apt-get install python3-boto3)",
  );

const BUCKET = "boto3-bkt";
const DOMAIN = "s3.sse.test";
const BIG = 100 * MiB;

let server: ServerProcess;
let keys: S3Keys;
let work: string;
let configFile: string;

// biome-ignore lint/suspicious/noExplicitAny: the script's observations are checked field by field
async function boto3(scenario: string): Promise<any> {
  const r = await runTool(PYTHON!, [SCRIPT, configFile, scenario], {
    env: toolEnv({}),
    timeoutMs: 300_000,
  });
  expect(r.code, `boto3 ${scenario}:\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout).result;
}

describe.skipIf(!BOTO3)(`boto3 ${BOTO3 ?? ""}`, () => {
  beforeAll(async () => {
    server = await startServer({ s3: true, env: { SSE_S3_DOMAIN: DOMAIN } });
    keys = await issueAccessKey(server, "boto3");
    work = tempDir("sse-boto3-");
    configFile = path.join(work, "config.json");
    writeFileSync(
      configFile,
      JSON.stringify({ endpoint: server.s3Url, ...keys, bucket: BUCKET, work, size: BIG, domain: DOMAIN }),
    );
    expect((await boto3("setup")).created).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Every algorithm boto3 can compute here round-trips, and the server gives the same checksum back. */
  function expectChecksums(r: { sha256: string; results: Record<string, Record<string, unknown>> }): void {
    for (const [algo, got] of Object.entries(r.results)) {
      if (got.clientLacks) {
        // Only the CRT-backed algorithms may be missing from a boto3 without awscrt.
        expect(["CRC32C", "CRC64NVME"]).toContain(algo);
        announceSkip(`boto3 ${algo}`, `this boto3 cannot compute it (${got.clientLacks})`);
        continue;
      }
      expect(got.error, `${algo}: ${JSON.stringify(got.error)}`).toBeUndefined();
      expect(got.sha256, algo).toBe(r.sha256);
      expect(typeof got.put, `${algo}: PutObject answers the checksum`).toBe("string");
      expect(got.head, `${algo}: HeadObject with ChecksumMode gives it back`).toBe(got.put);
      expect(got.get, `${algo}: GetObject with ChecksumMode gives it back`).toBe(got.put);
    }
    expect(Object.keys(r.results).sort()).toEqual(["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]);
    expect(r.results.CRC32!.clientLacks).toBeUndefined();
    expect(r.results.SHA256!.clientLacks).toBeUndefined();
  }

  it("put_object with each ChecksumAlgorithm (checksum headers): verified, kept, given back", async () => {
    const r = await boto3("checksums");
    expectChecksums(r);
    // The checksum is the one of the bytes: SHA-256 can be checked here directly.
    expect(Buffer.from(r.results.SHA256.put, "base64").toString("hex")).toBe(r.sha256);
  });

  it("put_object with each ChecksumAlgorithm as boto3 sends it over https: aws-chunked with a trailer", async () => {
    const r = await boto3("trailers");
    if (r.clientLacks) return announceSkip("boto3 aws-chunked trailers", r.clientLacks);
    expectChecksums(r);
    const sent = r.sent as { contentSha256: string; trailer: string }[];
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const s of sent) {
      expect(s.contentSha256).toBe("STREAMING-UNSIGNED-PAYLOAD-TRAILER");
      expect(s.trailer).toMatch(/^x-amz-checksum-(crc32|crc32c|sha1|sha256|crc64nvme)$/);
    }
  });

  it("upload_file and download_file of 100 MiB in parts (defaults, then 5 MiB parts 4 at a time); ranges", async () => {
    const r = await boto3("transfer");
    for (const name of ["default", "small-parts"]) {
      expect(r[name].sha256, name).toBe(r.sha256);
      expect(r[name].length, name).toBe(BIG);
    }
    expect(r.default.etag).toMatch(/^"[0-9a-f]{32}-13"$/); // 100 MiB in 8 MiB parts
    expect(r["small-parts"].etag).toMatch(/^"[0-9a-f]{32}-20"$/);
    expect(r.range).toEqual({
      contentRange: `bytes 12345678-13345677/${BIG}`,
      length: 1_000_000,
      matches: true,
    });
    expect(r.suffix).toEqual({ contentRange: `bytes ${BIG - 1000}-${BIG - 1}/${BIG}`, matches: true });
  }, 600_000);

  it("list_objects_v2 and list_objects paginators with a delimiter; delete_objects, loud and quiet", async () => {
    const r = await boto3("listing");
    const keys = Array.from({ length: 25 }, (_, i) => `list/k${String(i).padStart(2, "0")}.txt`);
    // Pages of 7 entries, keys and folders together: 26 entries in 4 pages, the folder in key order.
    expect(r.pages.length).toBe(4);
    expect(r.pages.flatMap((p: { keys: string[] }) => p.keys)).toEqual(keys);
    expect(r.pages.flatMap((p: { prefixes: string[] }) => p.prefixes)).toEqual(["list/sub/"]);
    for (const p of r.pages.slice(0, 3)) expect(p.keys.length + p.prefixes.length).toBe(7);
    expect(r.v1.map((p: string[]) => p.length)).toEqual([10, 10, 6]);
    expect(r.v1.flat()).toEqual([...keys, "list/sub/x.txt"]);
    expect(r.deleted).toEqual([...keys.slice(0, 20), "list/never-was"].sort());
    expect(r.deleteErrors).toEqual([]);
    expect(r.quietDeleted).toEqual([]);
    expect(r.left).toEqual(["list/sub/x.txt"]);
  });

  it("presigned GET and PUT URLs, SigV2 (boto3's default here) and SigV4, work from another client", async () => {
    const r = await boto3("presign");
    expect(r.getDefault).toMatch(/[?&]AWSAccessKeyId=.*&Signature=/);
    expect(r.putDefault).toMatch(/[?&]AWSAccessKeyId=.*&Signature=/);
    expect(r.getV4).toMatch(/[?&]X-Amz-Signature=/);
    expect(r.putV4).toMatch(/[?&]X-Amz-Signature=/);
    for (const url of [r.getDefault, r.getV4]) {
      const got = await fetch(url);
      expect(got.status, await got.clone().text()).toBe(200);
      expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(r.sha256);
    }
    const bodies: Record<string, Buffer> = {
      "put-default": Buffer.from("uploaded through a SigV2 presigned URL\n".repeat(1000)),
      "put-v4": Buffer.from("uploaded through a SigV4 presigned URL\n".repeat(1000)),
    };
    // The content type the SigV2 URL signed must be sent as signed; the SigV4 one signed none.
    const put = await fetch(r.putDefault, {
      method: "PUT",
      body: new Uint8Array(bodies["put-default"]!),
      headers: { "content-type": "application/x-test" },
    });
    expect(put.status, await put.text()).toBe(200);
    const putV4 = await fetch(r.putV4, { method: "PUT", body: new Uint8Array(bodies["put-v4"]!) });
    expect(putV4.status, await putV4.text()).toBe(200);
    const other = await fetch(r.putDefault, {
      method: "PUT",
      body: "not what was signed",
      headers: { "content-type": "text/html" },
    });
    expect(other.status).toBe(403);
    const up = await boto3("presigned_uploads");
    for (const name of ["put-default", "put-v4"])
      expect(up[name].sha256, name).toBe(createHash("sha256").update(bodies[name]!).digest("hex"));
    expect(up["put-default"].contentType).toBe("application/x-test");
    // An Expires changed after signing (here: long past) is refused.
    expect((await fetch(r.getDefault.replace(/Expires=\d+/, "Expires=1000000000"))).status).toBe(403);
  });

  it("conditional writes: IfNoneMatch='*' once, IfMatch the current ETag only", async () => {
    const r = await boto3("conditional");
    if (r.clientLacks) return announceSkip("boto3 conditional writes", r.clientLacks);
    expect(r.first.ok).toMatch(/^"[0-9a-f]{32}"$/);
    expect(r.second.error).toEqual({ code: "PreconditionFailed", status: 412 });
    expect(r.ifMatch.ok).toMatch(/^"[0-9a-f]{32}"$/);
    expect(r.staleIfMatch).toEqual({ code: "PreconditionFailed", status: 412 });
    expect(r.final).toBe("third");
    expect(r.ifNoneMatchGet.error).toEqual({ code: "304", status: 304 });
  });

  it("errors have S3's codes: NoSuchKey, NoSuchBucket, NoSuchUpload, 403 for a bad secret or key", async () => {
    const r = await boto3("errors");
    expect(r.noSuchKey.error).toEqual({ code: "NoSuchKey", status: 404 });
    expect(r.headMissing.error).toEqual({ code: "404", status: 404 });
    expect(r.noSuchBucket.error).toEqual({ code: "NoSuchBucket", status: 404 });
    expect(r.noSuchUpload.error).toEqual({ code: "NoSuchUpload", status: 404 });
    expect(r.badSecret.error).toEqual({ code: "SignatureDoesNotMatch", status: 403 });
    expect(r.unknownKey.error).toEqual({ code: "InvalidAccessKeyId", status: 403 });
    expect(r.bucketNotEmpty.error).toEqual({ code: "BucketNotEmpty", status: 409 });
    expect(r.invalidBucketName.error).toEqual({ code: "InvalidBucketName", status: 400 });
  });

  it("virtual-hosted style (SSE_S3_DOMAIN): objects, listings and presigned URLs of both kinds", async () => {
    const r = await boto3("virtual_host");
    expect(r.hosts).toEqual([`${BUCKET}.${DOMAIN}`]);
    expect(r.got).toBe(r.sha256);
    expect(r.listed).toEqual(["virtual/a b.txt"]);
    for (const kind of ["default", "v4"]) {
      expect(r.presigned[kind].host, kind).toBe(`${BUCKET}.${DOMAIN}`);
      expect(r.presigned[kind].sha256, kind).toBe(r.sha256);
    }
  });
});
