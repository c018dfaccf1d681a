// The S3 API against the real s3cmd (Debian's), configured by a config file of its own: mb, put
// (small, and a 20 MiB multipart upload in 5 MiB parts), get, ls, la, info, sync twice, del, rb,
// and signurl (a SigV2 presigned URL) fetched with curl. Every byte is compared by SHA-256.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool, type ToolResult, toolEnv } from "../helpers/cli-tool.js";
import { digestFile, randomChunks, textChunks, treeDigests, writeChunks } from "../helpers/file-tree.js";
import {
  announceSkip,
  executablesOnPath,
  issueAccessKey,
  type S3Keys,
  versionOf,
} from "../helpers/s3-client-setup.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { MiB, sha256 } from "../helpers/transfer.js";

const S3CMD = executablesOnPath("s3cmd")[0];
const VERSION = S3CMD ? versionOf(S3CMD) : undefined;
if (!VERSION) announceSkip("the s3cmd tests", "s3cmd is not installed (apt-get install s3cmd)");

const BUCKET = "s3cmd-bkt";
const BIG = 20 * MiB;

const TREE: Record<string, () => Iterable<Buffer>> = {
  "notes.txt": () => textChunks("notes", 3_000),
  "empty.txt": () => [],
  "odd/Quarterly Report (final) é.txt": () => textChunks("odd", 500),
  "odd/plus+percent%.txt": () => textChunks("plus", 50),
  "bin/data.bin": () => randomChunks("data", 2 * MiB + 5),
};

let server: ServerProcess;
let keys: S3Keys;
let work: string;
let config: string;

async function s3cmd(args: string[], cfg = config): Promise<ToolResult> {
  return runTool(S3CMD!, ["-c", cfg, "--no-progress", ...args], {
    env: toolEnv({}),
    cwd: work,
    timeoutMs: 180_000,
  });
}

async function ok(args: string[]): Promise<ToolResult> {
  const r = await s3cmd(args);
  expect(r.code, `s3cmd ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const file = (name: string) => path.join(work, name);

function writeConfig(name: string, extra = ""): string {
  const port = new URL(server.s3Url).host;
  const f = file(name);
  // host_bucket = the endpoint itself: path-style addressing, nothing to resolve.
  writeFileSync(
    f,
    `[default]\naccess_key = ${keys.accessKeyId}\nsecret_key = ${keys.secretAccessKey}\nhost_base = ${port}\nhost_bucket = ${port}\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = False\n${extra}`,
  );
  return f;
}

describe.skipIf(!VERSION)(`${VERSION}`, () => {
  beforeAll(async () => {
    server = await startServer({ s3: true });
    keys = await issueAccessKey(server, "s3cmd");
    work = tempDir("sse-s3cmd-");
    config = writeConfig("s3cfg");
    writeChunks(file("small.txt"), textChunks("small", 12_345));
    writeChunks(file("big.bin"), randomChunks("big", BIG));
    for (const [rel, gen] of Object.entries(TREE)) writeChunks(path.join(work, "tree", rel), gen());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("mb makes a bucket ls lists; mb again and a missing bucket say so", async () => {
    await ok(["mb", `s3://${BUCKET}`]);
    const ls = await ok(["ls"]);
    expect(ls.stdout).toMatch(new RegExp(`s3://${BUCKET}$`, "m"));
    const again = await s3cmd(["mb", `s3://${BUCKET}`]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/BucketAlreadyOwnedByYou/);
    const missing = await s3cmd(["ls", `s3://${BUCKET}-missing`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/NoSuchBucket/);
  });

  it("put a small file and a 20 MiB one in 5 MiB parts; get both back byte for byte", async () => {
    await ok(["put", "small.txt", `s3://${BUCKET}/small.txt`]);
    const big = await ok([
      "put",
      "big.bin",
      `s3://${BUCKET}/big/big.bin`,
      "--multipart-chunk-size-mb=5",
      "--progress",
    ]);
    expect(big.stdout).toMatch(/part 4 of 4/);
    expect(big.stdout).not.toMatch(/part 5 of/);
    await ok(["get", `s3://${BUCKET}/small.txt`, "small.down"]);
    await ok(["get", `s3://${BUCKET}/big/big.bin`, "big.down"]);
    expect(digestFile(file("small.down"))).toBe(digestFile(file("small.txt")));
    expect(digestFile(file("big.down"))).toBe(digestFile(file("big.bin")));
    // s3cmd checks the MD5 it kept for the multipart upload against what it downloaded: no warning.
    const again = await ok(["get", "--force", `s3://${BUCKET}/big/big.bin`, "big.down"]);
    expect(`${again.stdout}${again.stderr}`).not.toMatch(/MD5 signatures do not match|WARNING/);
  }, 120_000);

  it("ls, la and info describe the objects", async () => {
    const ls = await ok(["ls", `s3://${BUCKET}`]);
    expect(ls.stdout).toMatch(/^\s+DIR\s+s3:\/\/s3cmd-bkt\/big\/$/m);
    expect(ls.stdout).toMatch(new RegExp(`\\s12345\\s+s3://${BUCKET}/small\\.txt$`, "m"));
    const recursive = await ok(["ls", "--recursive", `s3://${BUCKET}`]);
    expect(recursive.stdout).toMatch(new RegExp(`\\s${BIG}\\s+s3://${BUCKET}/big/big\\.bin$`, "m"));
    const la = await ok(["la"]);
    expect(la.stdout).toContain(`s3://${BUCKET}/small.txt`);
    const info = await ok(["info", `s3://${BUCKET}/small.txt`]);
    expect(info.stdout).toMatch(/File size:\s+12345/);
    expect(info.stdout).toMatch(/MD5 sum:\s+[0-9a-f]{32}/);
    expect(info.stdout).toMatch(/SSE:\s+AES256/);
    const md5 = /MD5 sum:\s+([0-9a-f]{32})/.exec(info.stdout)![1];
    expect(md5).toBe(
      createHash("md5")
        .update(readFileSync(file("small.txt")))
        .digest("hex"),
    );
    const bucketInfo = await ok(["info", `s3://${BUCKET}`]);
    expect(bucketInfo.stdout).toMatch(/Location:\s+us-east-1/);
  });

  it("sync up and down; a second sync either way transfers nothing", async () => {
    const up = await ok(["sync", "tree/", `s3://${BUCKET}/tree/`]);
    expect(up.stdout.match(/^upload:/gm)?.length).toBe(Object.keys(TREE).length);
    const again = await ok(["sync", "tree/", `s3://${BUCKET}/tree/`]);
    expect(again.stdout, "the second sync up transfers nothing").not.toMatch(/^upload:/m);
    mkdirSync(file("tree.down"));
    await ok(["sync", `s3://${BUCKET}/tree/`, "tree.down/"]);
    expect(treeDigests(file("tree.down"))).toEqual(treeDigests(file("tree")));
    const downAgain = await ok(["sync", `s3://${BUCKET}/tree/`, "tree.down/"]);
    expect(downAgain.stdout, "the second sync down transfers nothing").not.toMatch(/^download:/m);
    // A changed file goes up again, by its MD5 (same size, other bytes).
    const notes = readFileSync(file("tree/notes.txt"));
    notes[0] = notes[0]! ^ 1;
    writeFileSync(file("tree/notes.txt"), notes);
    const changed = await ok(["sync", "tree/", `s3://${BUCKET}/tree/`]);
    expect(changed.stdout.match(/^upload:.*$/gm)).toEqual([expect.stringContaining("notes.txt")]);
  }, 120_000);

  it("signurl makes a SigV2 URL that curl downloads; after its expiry it is refused", async () => {
    const expires = Math.floor(Date.now() / 1000) + 300;
    const r = await ok(["signurl", `s3://${BUCKET}/big/big.bin`, String(expires)]);
    const url = r.stdout.trim();
    expect(url).toMatch(/[?&]AWSAccessKeyId=.*Signature=/);
    const got = await runTool("curl", ["-sS", "-f", "-o", file("signed.down"), url], { env: toolEnv({}) });
    expect(got.code, got.stderr).toBe(0);
    expect(digestFile(file("signed.down"))).toBe(digestFile(file("big.bin")));
    const odd = await ok(["signurl", `s3://${BUCKET}/tree/odd/Quarterly Report (final) é.txt`, "+300"]);
    const oddGot = await runTool("curl", ["-sS", "-f", odd.stdout.trim()], { env: toolEnv({}) });
    expect(oddGot.code, oddGot.stderr).toBe(0);
    expect(sha256(oddGot.stdoutBytes)).toBe(digestFile(file("tree/odd/Quarterly Report (final) é.txt")));
    const past = await ok([
      "signurl",
      `s3://${BUCKET}/small.txt`,
      String(Math.floor(Date.now() / 1000) - 60),
    ]);
    const refused = await runTool("curl", ["-sS", past.stdout.trim()], { env: toolEnv({}) });
    expect(refused.stdout).toMatch(/<Code>AccessDenied<\/Code>/);
    expect(refused.stdout).toMatch(/Request has expired/);
  });

  it("--signature-v2 (Authorization: AWS …) is refused with a clear AccessDenied", async () => {
    const v2 = writeConfig("s3cfg-v2", "");
    const r = await s3cmd(["--signature-v2", "ls", `s3://${BUCKET}`], v2);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/AccessDenied/);
    expect(r.stderr).toMatch(/AWS4-HMAC-SHA256/);
  });

  it("del removes objects, del --recursive a folder; rb refuses a full bucket, then removes the empty one", async () => {
    await ok(["del", `s3://${BUCKET}/small.txt`]);
    const gone = await s3cmd(["get", `s3://${BUCKET}/small.txt`, "gone.down"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/does not exist/);
    const full = await s3cmd(["rb", `s3://${BUCKET}`]);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/BucketNotEmpty/);
    await ok(["del", "--recursive", "--force", `s3://${BUCKET}/`]);
    const empty = await ok(["ls", "--recursive", `s3://${BUCKET}`]);
    expect(empty.stdout.trim()).toBe("");
    await ok(["rb", `s3://${BUCKET}`]);
    const ls = await ok(["ls"]);
    expect(ls.stdout).not.toContain(BUCKET);
  });
});
