// The S3 API against the real restic (Debian's /usr/bin/restic 0.14), which signs every chunk of
// its uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) over plain HTTP: init, a backup of ~200 MB of
// mixed files, check --read-data, a restore compared byte for byte, and forget --prune after a
// second backup, whose space the server gives back.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.js";
import { runTool, type ToolResult, toolEnv } from "../helpers/cli-tool.js";
import { randomChunks, textChunks, treeDigests, writeChunks } from "../helpers/file-tree.js";
import { type RecordingProxy, startRecordingProxy } from "../helpers/recording-proxy.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { MiB } from "../helpers/transfer.js";

const RESTIC = "/usr/bin/restic";
const BUCKET = "restic-bkt";

let server: ServerProcess;
let proxy: RecordingProxy;
let work: string;
let repo: string;
let env: Record<string, string>;
let keys: { accessKeyId: string; secretAccessKey: string };

/** ~200 MB: many small files, a few large ones, random and compressible, one duplicate. */
function writeDataSet(src: string): void {
  for (let i = 0; i < 1500; i++) {
    const size = (i * 7919) % 12_000;
    const file = path.join(src, "small", `d${i % 30}`, `f${i}.${i % 2 ? "bin" : "txt"}`);
    writeChunks(file, i % 2 ? randomChunks(`small${i}`, size) : textChunks(`small${i}`, size));
  }
  for (let i = 0; i < 20; i++)
    writeChunks(path.join(src, "medium", `m${i}.bin`), randomChunks(`m${i}`, MiB + i * 1000));
  writeChunks(path.join(src, "large", "random-a.bin"), randomChunks("large-a", 64 * MiB));
  writeChunks(path.join(src, "large", "random-b.bin"), randomChunks("large-b", 48 * MiB + 12_345));
  writeChunks(path.join(src, "large", "random-c.bin"), randomChunks("large-c", 24 * MiB + 1));
  writeChunks(path.join(src, "large", "text.log"), textChunks("large-text", 32 * MiB));
  mkdirSync(path.join(src, "dup"), { recursive: true });
  copyFileSync(path.join(src, "medium", "m0.bin"), path.join(src, "dup", "m0-copy.bin"));
  writeFileSync(path.join(src, "empty"), "");
}

function restic(args: string[]): Promise<ToolResult> {
  return runTool(RESTIC, ["-r", repo, "--cache-dir", path.join(work, "cache"), ...args], {
    env,
    cwd: work,
    timeoutMs: 170_000,
  });
}

async function ok(args: string[]): Promise<ToolResult> {
  const r = await restic(args);
  expect(r.code, `restic ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/** The last message of a `--json` run that has `message_type`. */
function jsonMessage<T>(r: ToolResult, type: string): T {
  const found = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { message_type?: string })
    .filter((m) => m.message_type === type)
    .at(-1);
  if (!found) throw new Error(`no ${type} message in:\n${r.stdout}\n${r.stderr}`);
  return found as T;
}

/** What the repository takes in the bucket, in plaintext bytes (S3 sizes). */
async function repoBytes(): Promise<{ bytes: number; objects: number }> {
  const s3 = new S3Client({
    endpoint: server.s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: keys,
  });
  try {
    let bytes = 0;
    let objects = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "repo/", ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        bytes += o.Size ?? 0;
        objects++;
      }
      token = page.NextContinuationToken;
    } while (token);
    return { bytes, objects };
  } finally {
    s3.destroy();
  }
}

beforeAll(async () => {
  expect(existsSync(RESTIC), "restic is installed (.ci/run installs Debian's)").toBe(true);
  server = await startServer({ s3: true });
  const r = await call(server, "POST", "/users/admin/access-keys", server.token, { label: "restic" });
  expect(r.status, r.text).toBe(201);
  keys = { accessKeyId: r.json.accessKeyId, secretAccessKey: r.json.secretAccessKey };
  proxy = await startRecordingProxy(server.s3Url);
  work = tempDir("sse-restic-");
  writeDataSet(path.join(work, "src"));
  repo = `s3:${proxy.url}/${BUCKET}/repo`;
  env = toolEnv({
    RESTIC_PASSWORD: "correct horse battery staple",
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
  });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  server?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("restic against the S3 API", () => {
  it("init makes a repository, signing every chunk of its uploads", async () => {
    const r = await ok(["init"]);
    expect(r.stdout).toMatch(/created restic repository [0-9a-f]+ at s3:/);
    const puts = proxy.seen.filter((s) => s.method === "PUT" && s.url.includes("/repo/"));
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts)
      expect(p.headers["x-amz-content-sha256"], p.url).toBe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  });

  it("backs up ~200 MB of mixed files, checks every byte, and restores them identical", async () => {
    const src = path.join(work, "src");
    const backup = await ok(["backup", "src", "--host", "sse-test", "--json"]);
    const summary = jsonMessage<{ total_files_processed: number; total_bytes_processed: number }>(
      backup,
      "summary",
    );
    const expected = treeDigests(src);
    expect(summary.total_files_processed).toBe(expected.size);
    expect(summary.total_bytes_processed).toBeGreaterThan(195 * MiB);
    // Every upload was a signed-chunk body, and the server answered none with a 5xx.
    const uploads = proxy.seen.filter((s) => s.method === "PUT" && s.url.includes("/repo/"));
    expect(uploads.length).toBeGreaterThan(10);
    for (const p of uploads)
      expect(p.headers["x-amz-content-sha256"], p.url).toBe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");

    const check = await ok(["check", "--read-data"]);
    expect(check.stdout).toContain("no errors were found");

    await ok(["restore", "latest", "--target", "restored"]);
    expect(treeDigests(path.join(work, "restored", "src"))).toEqual(expected);
    rmSync(path.join(work, "restored"), { recursive: true, force: true });
    expect(proxy.seen.filter((s) => (s.status ?? 0) >= 500)).toEqual([]);
  }, 240_000);

  it("forget --keep-last 1 --prune after a second backup keeps it whole and frees the rest", async () => {
    const src = path.join(work, "src");
    // The second backup: a large file gone, small ones changed, one added.
    rmSync(path.join(src, "large", "random-c.bin"));
    for (let i = 0; i < 10; i++)
      writeChunks(
        path.join(src, "small", `d${i}`, `f${i}.${i % 2 ? "bin" : "txt"}`),
        textChunks(`changed${i}`, 5000),
      );
    writeChunks(path.join(src, "new", "added.bin"), randomChunks("added", 3 * MiB));
    await ok(["backup", "src", "--host", "sse-test"]);
    const before = await repoBytes();

    const forget = await ok(["forget", "--keep-last", "1", "--prune"]);
    expect(forget.stdout).toMatch(/remove 1 snapshots/);
    const snapshots = JSON.parse((await ok(["snapshots", "--json"])).stdout) as unknown[];
    expect(snapshots).toHaveLength(1);
    // The packs of the removed 24 MiB file are deleted on the server (prune keeps up to 5% unused).
    const after = await repoBytes();
    expect(before.bytes - after.bytes).toBeGreaterThan(12 * MiB);
    expect(after.objects).toBeLessThan(before.objects);

    expect((await ok(["check"])).stdout).toContain("no errors were found");
    await ok(["restore", "latest", "--target", "restored"]);
    expect(treeDigests(path.join(work, "restored", "src"))).toEqual(treeDigests(src));
    expect(proxy.seen.filter((s) => (s.status ?? 0) >= 500)).toEqual([]);
  }, 240_000);
});
