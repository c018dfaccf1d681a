// The S3 API against the real rclone (Debian's /usr/bin/rclone), with an S3 remote configured by
// nothing but the endpoint and an access key: copy a tree with a 100 MiB file, check it by hashes,
// sync twice, list, cat (whole and ranges), stream from stdin, delete and purge.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HeadObjectCommand, ListPartsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.js";
import { runTool, type ToolResult, toolEnv } from "../helpers/cli-tool.js";
import { bytesOf, randomChunks, textChunks, writeChunks } from "../helpers/file-tree.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { MiB } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

const RCLONE = "/usr/bin/rclone";
const BUCKET = "rclone-bkt";
const BIG = 100 * MiB;

let server: ServerProcess;
let work: string;
let src: string;
let env: Record<string, string>;
let keys: { accessKeyId: string; secretAccessKey: string };

/** The files of the tree: relative path → their bytes' generator. */
const TREE: Record<string, () => Iterable<Buffer>> = {
  "big.bin": () => randomChunks("big", BIG),
  "empty.txt": () => [],
  "readme.md": () => textChunks("readme", 12_345),
  "logs/app.log": () => textChunks("log", 3 * MiB + 17),
  "deep/a/b/c/blob.bin": () => randomChunks("deep", MiB + 1),
  "odd/Quarterly Report (final) é.txt": () => textChunks("odd1", 999),
  "odd/plus+percent%hash#.txt": () => textChunks("odd2", 100),
  "odd/100% ça marche ✓.txt": () => textChunks("odd3", 2048),
  ...Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`small/f${i}.dat`, () => randomChunks(`small${i}`, i * 4099)]),
  ),
};
const FILES = Object.keys(TREE).sort();

function rclone(args: string[], stdin?: Buffer): Promise<ToolResult> {
  return runTool(RCLONE, args, { env, timeoutMs: 150_000, ...(stdin ? { stdin } : {}) });
}

/** rclone's output (all of it goes to stderr), for messages. */
const out = (r: ToolResult) => `${r.stdout}\n${r.stderr}`;

async function ok(args: string[], stdin?: Buffer): Promise<ToolResult> {
  const r = await rclone(args, stdin);
  expect(r.code, `rclone ${args.join(" ")}:\n${out(r)}`).toBe(0);
  return r;
}

interface Stats {
  transfers: number;
  checks: number;
  errors: number;
  deletes: number;
}

interface LogLine {
  msg: string;
  object?: string;
  stats?: Stats;
}

/** The log lines of a command run with `--use-json-log`. */
function jsonLog(r: ToolResult): LogLine[] {
  return r.stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The objects a `-v --use-json-log` run logged `msg` for. */
function logged(r: ToolResult, msg: string): string[] {
  return jsonLog(r)
    .filter((l) => l.msg === msg && l.object !== undefined)
    .map((l) => l.object!)
    .sort();
}

/** The final statistics of a command run with `--use-json-log -v`. */
function finalStats(r: ToolResult): Stats {
  const last = jsonLog(r)
    .filter((l) => l.stats)
    .at(-1);
  if (!last?.stats) throw new Error(`no statistics in:\n${r.stderr}`);
  return last.stats;
}

function s3(): S3Client {
  return new S3Client({
    endpoint: server.s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: keys,
  });
}

beforeAll(async () => {
  expect(existsSync(RCLONE), "rclone is installed (.ci/run installs Debian's)").toBe(true);
  server = await startServer({ s3: true });
  const r = await call(server, "POST", "/users/admin/access-keys", server.token, { label: "rclone" });
  expect(r.status, r.text).toBe(201);
  keys = { accessKeyId: r.json.accessKeyId, secretAccessKey: r.json.secretAccessKey };
  work = tempDir("sse-rclone-");
  src = path.join(work, "src");
  for (const f of FILES) writeChunks(path.join(src, f), TREE[f]!());
  const config = path.join(work, "rclone.conf");
  writeFileSync(config, "");
  // The remote is the endpoint and the keys, nothing else; the machine's own config is never read.
  env = toolEnv({
    RCLONE_CONFIG: config,
    RCLONE_CACHE_DIR: path.join(work, "cache"),
    RCLONE_CONFIG_SSE_TYPE: "s3",
    RCLONE_CONFIG_SSE_PROVIDER: "Other",
    RCLONE_CONFIG_SSE_ENDPOINT: server.s3Url,
    RCLONE_CONFIG_SSE_ACCESS_KEY_ID: keys.accessKeyId,
    RCLONE_CONFIG_SSE_SECRET_ACCESS_KEY: keys.secretAccessKey,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("rclone against the S3 API", () => {
  it("copies a tree with a 100 MiB file, the big one as a multipart upload", async () => {
    // rclone sends files up to --s3-upload-cutoff (200 MiB by default) in one PUT: lowered, so that
    // the 100 MiB file goes up in parts (5 MiB each, 4 at a time) as a larger one would.
    const r = await ok([
      "copy",
      src,
      `sse:${BUCKET}/tree`,
      "--s3-upload-cutoff",
      "64Mi",
      "-v",
      "--use-json-log",
    ]);
    const stats = finalStats(r);
    expect(stats.errors).toBe(0);
    expect(stats.transfers).toBe(FILES.length);
    const client = s3();
    try {
      const big = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tree/big.bin" }));
      expect(big.ContentLength).toBe(BIG);
      expect(big.ETag).toMatch(/^"[0-9a-f]{32}-20"$/);
      // rclone keeps the MD5 it could not find in a multipart ETag as user metadata (stored encrypted).
      expect(big.Metadata?.md5chksum).toBe(
        createHash("md5").update(bytesOf(TREE["big.bin"]!())).digest("base64"),
      );
      const small = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tree/readme.md" }));
      expect(small.ETag).toBe(`"${createHash("md5").update(bytesOf(TREE["readme.md"]!())).digest("hex")}"`);
    } finally {
      client.destroy();
    }
    // One namespace: the native API sees the same object.
    const native = await server.fetch(
      `/data/${BUCKET}/tree/odd/${encodeURIComponent("Quarterly Report (final) é.txt")}`,
    );
    expect(native.status).toBe(200);
    expect(Buffer.from(await native.arrayBuffer())).toEqual(
      bytesOf(TREE["odd/Quarterly Report (final) é.txt"]!()),
    );
  }, 180_000);

  it("check finds 0 differences by comparing hashes, and finds a changed byte", async () => {
    const r = await ok(["check", src, `sse:${BUCKET}/tree`]);
    expect(out(r)).toContain("0 differences found");
    expect(out(r)).toContain(`${FILES.length} matching files`);
    // Every file was compared by MD5 (the ETag, or the multipart upload's md5chksum), none by size alone.
    expect(out(r)).not.toMatch(/hashes could not be checked/);
    // The same sizes with one byte changed, in a single-part file and in the multipart one.
    const altered = path.join(work, "altered");
    for (const f of FILES) {
      const to = path.join(altered, f);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(src, f), to);
    }
    const flip = (f: string) => {
      const b = bytesOf(TREE[f]!());
      b[Math.floor(b.length / 2)]! ^= 0x01;
      writeChunks(path.join(altered, f), [b]);
    };
    flip("readme.md");
    flip("big.bin");
    const bad = await rclone(["check", altered, `sse:${BUCKET}/tree`]);
    expect(bad.code).not.toBe(0);
    expect(out(bad)).toContain("2 differences found");
    expect(out(bad)).toMatch(/ERROR : readme\.md: md5 differ/);
    expect(out(bad)).toMatch(/ERROR : big\.bin: md5 differ/);
    rmSync(altered, { recursive: true, force: true });
  }, 120_000);

  it("a second sync transfers nothing; a changed file is the only one sent", async () => {
    const first = finalStats(await ok(["sync", src, `sse:${BUCKET}/mirror`, "-v", "--use-json-log"]));
    expect(first.transfers).toBe(FILES.length);
    const second = await ok(["sync", src, `sse:${BUCKET}/mirror`, "-v", "--use-json-log"]);
    expect(finalStats(second).transfers).toBe(0);
    expect(second.stderr).toContain("There was nothing to transfer");
    // By checksum too (the multipart copy of the tree included): nothing differs.
    const byHash = await ok(["sync", src, `sse:${BUCKET}/tree`, "--checksum", "-v", "--use-json-log"]);
    expect(finalStats(byHash).transfers).toBe(0);
    // Not vacuous: one changed file is sent, and nothing else.
    writeChunks(path.join(src, "small/f3.dat"), randomChunks("changed", 3 * 4099));
    const third = await ok(["sync", src, `sse:${BUCKET}/mirror`, "-v", "--use-json-log"]);
    expect(finalStats(third).transfers).toBe(1);
    expect(logged(third, "Copied (replaced existing)")).toEqual(["small/f3.dat"]);
    const check = await ok(["check", src, `sse:${BUCKET}/mirror`]);
    expect(out(check)).toContain("0 differences found");
    writeChunks(path.join(src, "small/f3.dat"), TREE["small/f3.dat"]!());
  }, 180_000);

  it("lsf lists exactly the files copied", async () => {
    const r = await ok(["lsf", "-R", "--files-only", `sse:${BUCKET}/tree`]);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(FILES);
    const dirs = await ok(["lsf", `sse:${BUCKET}/tree`, "--dirs-only"]);
    expect(dirs.stdout.split("\n").filter(Boolean).sort()).toEqual(["deep/", "logs/", "odd/", "small/"]);
  });

  it("cat gives back the bytes, whole and in ranges across part boundaries", async () => {
    for (const f of FILES) {
      const r = await ok(["cat", `sse:${BUCKET}/tree/${f}`]);
      expect(r.stdoutBytes.equals(bytesOf(TREE[f]!())), f).toBe(true);
    }
    const big = bytesOf(TREE["big.bin"]!());
    // Across the 5 MiB boundary of parts 1 and 2, within part 7, and the tail of the last part.
    for (const [offset, count] of [
      [5 * MiB - 1000, 3000],
      [30 * MiB + 12345, 65_536 * 3 + 7],
      [BIG - 777, 777],
    ] as const) {
      const r = await ok([
        "cat",
        `sse:${BUCKET}/tree/big.bin`,
        "--offset",
        String(offset),
        "--count",
        String(count),
      ]);
      expect(r.stdoutBytes.equals(big.subarray(offset, offset + count)), `${offset}+${count}`).toBe(true);
    }
  }, 120_000);

  it("rcat streams stdin of unknown size as a multipart upload with no flags", async () => {
    const body = bytesOf(randomChunks("rcat", 12 * MiB + 5));
    await ok(["rcat", `sse:${BUCKET}/streamed.bin`], body);
    const client = s3();
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "streamed.bin" }));
      expect(head.ETag).toMatch(/-3"$/);
    } finally {
      client.destroy();
    }
    const back = await ok(["cat", `sse:${BUCKET}/streamed.bin`]);
    expect(back.stdoutBytes.equals(body)).toBe(true);
  }, 120_000);

  it("backend cleanup aborts the multipart upload of an rclone that died mid-stream", async () => {
    // An rcat whose input stops after 12 MiB (two parts sent) and which is then killed.
    const proc = spawn(RCLONE, ["rcat", `sse:${BUCKET}/abandoned.bin`], {
      env,
      stdio: ["pipe", "ignore", "ignore"],
    });
    const exited = new Promise((resolve) => proc.on("close", resolve));
    proc.stdin.write(bytesOf(randomChunks("abandoned", 12 * MiB)));
    const listUploads = async () => {
      const r = await ok(["backend", "list-multipart-uploads", `sse:${BUCKET}`]);
      return (JSON.parse(r.stdout) as Record<string, { Key: string; UploadId: string }[]>)[BUCKET] ?? [];
    };
    const client = s3();
    try {
      const upload = await waitFor(
        "rclone's parts to be uploaded",
        async () => {
          const found = (await listUploads()).find((u) => u.Key === "abandoned.bin");
          if (!found) return null;
          const parts = await client.send(
            new ListPartsCommand({ Bucket: BUCKET, Key: "abandoned.bin", UploadId: found.UploadId }),
          );
          return (parts.Parts?.length ?? 0) >= 2 ? found : null;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      proc.kill("SIGKILL");
      await exited;
      expect(await listUploads()).toEqual([
        expect.objectContaining({ Key: "abandoned.bin", UploadId: upload.UploadId }),
      ]);
      await ok(["backend", "cleanup", `sse:${BUCKET}`, "-o", "max-age=0s"]);
      expect(await listUploads()).toEqual([]);
      await expect(
        client.send(
          new ListPartsCommand({ Bucket: BUCKET, Key: "abandoned.bin", UploadId: upload.UploadId }),
        ),
      ).rejects.toMatchObject({ name: "NoSuchUpload" });
      expect((await rclone(["lsf", `sse:${BUCKET}/abandoned.bin`])).stdout).toBe("");
    } finally {
      proc.kill("SIGKILL");
      client.destroy();
    }
  }, 120_000);

  it("delete removes the files, purge the bucket", async () => {
    const r = await ok(["delete", `sse:${BUCKET}/tree`, "-v", "--use-json-log"]);
    expect(logged(r, "Deleted")).toEqual(FILES);
    expect((await ok(["lsf", "-R", `sse:${BUCKET}/tree`])).stdout).toBe("");
    // The other copies are untouched.
    expect(
      (await ok(["lsf", "-R", "--files-only", `sse:${BUCKET}/mirror`])).stdout
        .split("\n")
        .filter(Boolean)
        .sort(),
    ).toEqual(FILES);
    await ok(["purge", `sse:${BUCKET}`]);
    expect((await ok(["lsd", "sse:"])).stdout).not.toContain(BUCKET);
    const native = await server.fetch(`/data?prefix=${BUCKET}/`);
    expect(await native.json()).toEqual([]);
  }, 120_000);
});
