// The S3 API against the real AWS CLI: Debian's aws-cli v2 (/usr/bin/aws) and the pip aws-cli v1
// (the `aws` on PATH, botocore's default checksums), each configured by a config and a credentials
// file of its own and nothing else: high-level `s3` commands (multipart both ways, sync twice,
// listings, presign), and the `s3api` operations a script uses. Every byte is compared by SHA-256.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

interface Cli {
  name: string;
  file: string | undefined;
  version: string | undefined;
}

function findCli(major: 1 | 2): Cli {
  const candidates = major === 2 ? ["/usr/bin/aws", ...executablesOnPath("aws")] : executablesOnPath("aws");
  for (const file of candidates) {
    const version = versionOf(file);
    if (version?.startsWith(`aws-cli/${major}.`)) return { name: `aws-cli v${major}`, file, version };
  }
  return { name: `aws-cli v${major}`, file: undefined, version: undefined };
}

const CLIS = [findCli(2), findCli(1)];
for (const c of CLIS)
  if (!c.file)
    announceSkip(
      `the ${c.name} tests`,
      c.name.endsWith("2")
        ? "no aws-cli v2 (apt-get install awscli)"
        : "no aws-cli v1 on PATH (pip install awscli)",
    );

let server: ServerProcess;
let keys: S3Keys;
let work: string;

beforeAll(async () => {
  if (!CLIS.some((c) => c.file)) return;
  server = await startServer({ s3: true });
  keys = await issueAccessKey(server, "aws-cli");
  work = tempDir("sse-awscli-");
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The files synced as a tree: relative path → their bytes. */
const TREE: Record<string, () => Iterable<Buffer>> = {
  "readme.md": () => textChunks("readme", 5_000),
  "empty.txt": () => [],
  "docs/Quarterly Report (final) é.txt": () => textChunks("odd", 777),
  "docs/plus+and%percent.txt": () => textChunks("plus", 100),
  "data/blob.bin": () => randomChunks("blob", MiB + 3),
  "data/deep/x/y.bin": () => randomChunks("y", 4099),
};

describe.each(CLIS.filter((c) => c.file))("$name ($version)", (cli) => {
  const major = cli.name.endsWith("2") ? 2 : 1;
  const bucket = `awscli-v${major}-bkt`;
  let dir: string;
  let env: Record<string, string>;

  const run = (args: string[]): Promise<ToolResult> =>
    runTool(cli.file!, [...args, "--endpoint-url", server.s3Url], { env, cwd: dir, timeoutMs: 180_000 });

  async function ok(args: string[]): Promise<ToolResult> {
    const r = await run(args);
    expect(r.code, `aws ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON answers are checked field by field
  const api = async (args: string[]): Promise<any> => {
    const r = await ok(["s3api", ...args, "--output", "json"]);
    return r.stdout.trim() ? JSON.parse(r.stdout) : {};
  };

  async function fails(args: string[], code: RegExp): Promise<void> {
    const r = await run(args);
    expect(r.code, `aws ${args.join(" ")} should fail:\n${r.stdout}`).not.toBe(0);
    expect(r.stderr).toMatch(code);
  }

  const file = (name: string) => path.join(dir, name);

  beforeAll(() => {
    dir = path.join(work, `v${major}`);
    mkdirSync(dir, { recursive: true });
    const config = file("config");
    const credentials = file("credentials");
    // 16 MB threshold and 8 MB parts: the 40 MiB file goes up, and comes down, in five parts.
    writeFileSync(
      config,
      "[default]\nregion = us-east-1\noutput = json\ns3 =\n  multipart_threshold = 16MB\n  multipart_chunksize = 8MB\n",
    );
    writeFileSync(
      credentials,
      `[default]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`,
    );
    // Only these two files configure the CLI; the user's ~/.aws and AWS_* variables are never read.
    env = toolEnv({
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
    });
    writeChunks(file("small.txt"), textChunks(`small${major}`, 10_000));
    writeChunks(file("big.bin"), randomChunks(`big${major}`, 40 * MiB));
    for (const [rel, gen] of Object.entries(TREE)) writeChunks(path.join(dir, "tree", rel), gen());
    for (let i = 0; i < 25; i++)
      writeChunks(path.join(dir, "pages", `k${String(i).padStart(2, "0")}.txt`), textChunks(`p${i}`, 10 + i));
  });

  it("s3 mb makes a bucket that s3 ls lists; a missing bucket is NoSuchBucket", async () => {
    await ok(["s3", "mb", `s3://${bucket}`]);
    const ls = await ok(["s3", "ls"]);
    expect(ls.stdout).toMatch(new RegExp(`\\s${bucket}$`, "m"));
    await fails(["s3", "ls", `s3://${bucket}-missing`], /NoSuchBucket/);
    await fails(["s3", "mb", `s3://${bucket}`], /BucketAlreadyOwnedByYou/);
  });

  it("s3 cp up and down, small and multipart (40 MiB in 8 MB parts), byte for byte", async () => {
    await ok(["s3", "cp", "small.txt", `s3://${bucket}/small.txt`, "--no-progress"]);
    await ok(["s3", "cp", "big.bin", `s3://${bucket}/big.bin`, "--no-progress"]);
    const head = await api(["head-object", "--bucket", bucket, "--key", "big.bin"]);
    expect(head.ContentLength).toBe(40 * MiB);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-5"$/);
    expect(head.ServerSideEncryption).toBe("AES256");
    await ok(["s3", "cp", `s3://${bucket}/small.txt`, "small.down", "--no-progress"]);
    await ok(["s3", "cp", `s3://${bucket}/big.bin`, "big.down", "--no-progress"]);
    expect(digestFile(file("small.down"))).toBe(digestFile(file("small.txt")));
    expect(digestFile(file("big.down"))).toBe(digestFile(file("big.bin")));
    // To stdout and from stdin, as in shell pipelines.
    const cat = await ok(["s3", "cp", `s3://${bucket}/small.txt`, "-"]);
    expect(sha256(cat.stdoutBytes)).toBe(digestFile(file("small.txt")));
  }, 240_000);

  it("s3 sync up and down; a second sync either way transfers nothing", async () => {
    const up = await ok(["s3", "sync", "tree", `s3://${bucket}/tree`, "--no-progress"]);
    expect(up.stdout.match(/^upload:/gm)?.length).toBe(Object.keys(TREE).length);
    const again = await ok(["s3", "sync", "tree", `s3://${bucket}/tree`, "--no-progress"]);
    expect(again.stdout.trim(), "the second sync up transfers nothing").toBe("");
    await ok(["s3", "sync", `s3://${bucket}/tree`, "tree.down", "--no-progress"]);
    expect(treeDigests(file("tree.down"))).toEqual(treeDigests(file("tree")));
    const downAgain = await ok(["s3", "sync", `s3://${bucket}/tree`, "tree.down", "--no-progress"]);
    expect(downAgain.stdout.trim(), "the second sync down transfers nothing").toBe("");
    // A changed file, and only it, goes up again; --delete removes what is gone locally.
    writeFileSync(file("tree/readme.md"), "changed and longer than before\n".repeat(500));
    rmSync(file("tree/empty.txt"));
    const third = await ok(["s3", "sync", "tree", `s3://${bucket}/tree`, "--delete", "--no-progress"]);
    expect(third.stdout.match(/^upload:.*$/gm)).toEqual([
      expect.stringContaining(`s3://${bucket}/tree/readme.md`),
    ]);
    expect(third.stdout.match(/^delete:.*$/gm)).toEqual([
      expect.stringContaining(`s3://${bucket}/tree/empty.txt`),
    ]);
  }, 120_000);

  it("s3 ls: a folder's prefixes and objects, and everything with --recursive", async () => {
    const top = await ok(["s3", "ls", `s3://${bucket}/tree/`]);
    expect(top.stdout).toMatch(/^\s+PRE data\/$/m);
    expect(top.stdout).toMatch(/^\s+PRE docs\/$/m);
    expect(top.stdout).toMatch(/\sreadme\.md$/m);
    const all = await ok(["s3", "ls", `s3://${bucket}/tree/`, "--recursive"]);
    const keysListed = all.stdout
      .trim()
      .split("\n")
      .map((l) => l.replace(/^\S+\s+\S+\s+\d+\s+/, ""))
      .sort();
    const expected = Object.keys(TREE)
      .filter((k) => k !== "empty.txt")
      .map((k) => `tree/${k}`)
      .sort();
    expect(keysListed).toEqual(expected);
    expect(all.stdout).toMatch(new RegExp(`\\s${MiB + 3}\\s+tree/data/blob\\.bin$`, "m"));
  });

  it("s3api get-object --range gives exactly the bytes asked for", async () => {
    const out = await api([
      "get-object",
      "--bucket",
      bucket,
      "--key",
      "big.bin",
      "--range",
      "bytes=8388600-8388799",
      "range.out",
    ]);
    expect(out.ContentRange).toBe(`bytes 8388600-8388799/${40 * MiB}`);
    expect(out.ContentLength).toBe(200);
    const whole = readFileSync(file("big.bin"));
    expect(sha256(readFileSync(file("range.out")))).toBe(sha256(whole.subarray(8388600, 8388800)));
    await fails(["s3api", "get-object", "--bucket", bucket, "--key", "nope", "nope.out"], /NoSuchKey/);
    await fails(
      ["s3api", "get-object", "--bucket", bucket, "--key", "small.txt", "--range", "bytes=99999-", "x.out"],
      /InvalidRange/,
    );
  });

  it("s3api put-object keeps metadata and content type; copy-object copies or replaces them", async () => {
    await api([
      "put-object",
      "--bucket",
      bucket,
      "--key",
      "meta/a.txt",
      "--body",
      "small.txt",
      "--content-type",
      "text/x-report",
      "--cache-control",
      "max-age=60",
      "--metadata",
      "project=apollo,stage=2",
    ]);
    const head = await api(["head-object", "--bucket", bucket, "--key", "meta/a.txt"]);
    expect(head.ContentType).toBe("text/x-report");
    expect(head.CacheControl).toBe("max-age=60");
    expect(head.Metadata).toEqual({ project: "apollo", stage: "2" });
    expect(head.ContentLength).toBe(10_000);

    await api([
      "copy-object",
      "--bucket",
      bucket,
      "--key",
      "meta/copy.txt",
      "--copy-source",
      `${bucket}/meta/a.txt`,
    ]);
    const copied = await api(["head-object", "--bucket", bucket, "--key", "meta/copy.txt"]);
    expect(copied.Metadata).toEqual({ project: "apollo", stage: "2" });
    expect(copied.ContentType).toBe("text/x-report");
    expect(copied.ETag).toBe(head.ETag);

    await api([
      "copy-object",
      "--bucket",
      bucket,
      "--key",
      "meta/replaced.txt",
      "--copy-source",
      `${bucket}/meta/a.txt`,
      "--metadata-directive",
      "REPLACE",
      "--metadata",
      "owner=ops",
      "--content-type",
      "text/plain",
    ]);
    const replaced = await api(["head-object", "--bucket", bucket, "--key", "meta/replaced.txt"]);
    expect(replaced.Metadata).toEqual({ owner: "ops" });
    expect(replaced.ContentType).toBe("text/plain");
    await ok(["s3", "cp", `s3://${bucket}/meta/replaced.txt`, "replaced.down", "--no-progress"]);
    expect(digestFile(file("replaced.down"))).toBe(digestFile(file("small.txt")));
  });

  it("refuses, and stores nothing for, SSE-C, SSE-KMS, a public ACL, object lock and tags", async () => {
    const refused: [string, string[]][] = [
      [
        "ssec",
        [
          "s3",
          "cp",
          "small.txt",
          `s3://${bucket}/no/ssec`,
          "--sse-c",
          "AES256",
          "--sse-c-key",
          "k".repeat(32),
        ],
      ],
      ["kms", ["s3", "cp", "small.txt", `s3://${bucket}/no/kms`, "--sse", "aws:kms"]],
      ["public", ["s3", "cp", "small.txt", `s3://${bucket}/no/public`, "--acl", "public-read"]],
      [
        "lock",
        [
          "s3api",
          "put-object",
          "--bucket",
          bucket,
          "--key",
          "no/lock",
          "--body",
          "small.txt",
          "--object-lock-mode",
          "GOVERNANCE",
          "--object-lock-retain-until-date",
          "2030-01-01T00:00:00Z",
        ],
      ],
      [
        "tags",
        [
          "s3api",
          "put-object",
          "--bucket",
          bucket,
          "--key",
          "no/tags",
          "--body",
          "small.txt",
          "--tagging",
          "a=b",
        ],
      ],
    ];
    for (const [, args] of refused) await fails(args, /NotImplemented/);
    const left = await api(["list-objects-v2", "--bucket", bucket, "--prefix", "no/"]);
    expect(left.Contents ?? []).toEqual([]);
    // What the server does anyway is accepted: SSE-S3 (AES256) and a private ACL.
    await ok(["s3", "cp", "small.txt", `s3://${bucket}/yes/sse`, "--sse", "AES256", "--acl", "private"]);
    const head = await api(["head-object", "--bucket", bucket, "--key", "yes/sse"]);
    expect(head.ServerSideEncryption).toBe("AES256");
  });

  it("s3api delete-objects deletes several keys at once", async () => {
    const r = await api([
      "delete-objects",
      "--bucket",
      bucket,
      "--delete",
      JSON.stringify({ Objects: [{ Key: "meta/copy.txt" }, { Key: "meta/replaced.txt" }], Quiet: false }),
    ]);
    expect(r.Deleted.map((d: { Key: string }) => d.Key).sort()).toEqual([
      "meta/copy.txt",
      "meta/replaced.txt",
    ]);
    expect(r.Errors ?? []).toEqual([]);
    const left = await api(["list-objects-v2", "--bucket", bucket, "--prefix", "meta/"]);
    expect(left.Contents.map((c: { Key: string }) => c.Key)).toEqual(["meta/a.txt"]);
  });

  it("s3api list-objects-v2 pages: --max-items with --starting-token, and server pages of --page-size", async () => {
    await ok(["s3", "sync", "pages", `s3://${bucket}/page/`, "--no-progress"]);
    const expected = Array.from({ length: 25 }, (_, i) => `page/k${String(i).padStart(2, "0")}.txt`);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const args = [
        "list-objects-v2",
        "--bucket",
        bucket,
        "--prefix",
        "page/",
        "--max-items",
        "10",
        "--page-size",
        "4",
      ];
      if (token) args.push("--starting-token", token);
      const r = await api(args);
      seen.push(...r.Contents.map((c: { Key: string }) => c.Key));
      token = r.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected);
    // One server page at a time: the continuation token the server gave leads on.
    const first = await api([
      "list-objects-v2",
      "--bucket",
      bucket,
      "--prefix",
      "page/",
      "--max-keys",
      "7",
      "--no-paginate",
    ]);
    expect(first.Contents.map((c: { Key: string }) => c.Key)).toEqual(expected.slice(0, 7));
    expect(first.IsTruncated).toBe(true);
    const second = await api([
      "list-objects-v2",
      "--bucket",
      bucket,
      "--prefix",
      "page/",
      "--max-keys",
      "7",
      "--no-paginate",
      "--continuation-token",
      first.NextContinuationToken,
    ]);
    expect(second.Contents.map((c: { Key: string }) => c.Key)).toEqual(expected.slice(7, 14));
    const folders = await api(["list-objects-v2", "--bucket", bucket, "--delimiter", "/"]);
    expect(folders.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix).sort()).toEqual([
      "meta/",
      "page/",
      "tree/",
      "yes/",
    ]);
  }, 120_000);

  it("s3api create, upload-part, list-parts, complete and abort a multipart upload", async () => {
    writeChunks(file("part1"), randomChunks(`part1-${major}`, 5 * MiB));
    writeChunks(file("part2"), randomChunks(`part2-${major}`, MiB + 3));
    const created = await api(["create-multipart-upload", "--bucket", bucket, "--key", "mp/joined.bin"]);
    const uploadId: string = created.UploadId;
    const parts = [];
    for (const n of [2, 1]) {
      const r = await api([
        "upload-part",
        "--bucket",
        bucket,
        "--key",
        "mp/joined.bin",
        "--upload-id",
        uploadId,
        "--part-number",
        String(n),
        "--body",
        `part${n}`,
      ]);
      parts.push({ ETag: r.ETag, PartNumber: n });
    }
    const listed = await api([
      "list-parts",
      "--bucket",
      bucket,
      "--key",
      "mp/joined.bin",
      "--upload-id",
      uploadId,
    ]);
    expect(listed.Parts.map((p: { PartNumber: number; Size: number }) => [p.PartNumber, p.Size])).toEqual([
      [1, 5 * MiB],
      [2, MiB + 3],
    ]);
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const done = await api([
      "complete-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      "mp/joined.bin",
      "--upload-id",
      uploadId,
      "--multipart-upload",
      JSON.stringify({ Parts: parts }),
    ]);
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    await ok(["s3", "cp", `s3://${bucket}/mp/joined.bin`, "joined.down", "--no-progress"]);
    const joined = Buffer.concat([readFileSync(file("part1")), readFileSync(file("part2"))]);
    expect(digestFile(file("joined.down"))).toBe(sha256(joined));

    const other = await api(["create-multipart-upload", "--bucket", bucket, "--key", "mp/aborted.bin"]);
    await api([
      "upload-part",
      "--bucket",
      bucket,
      "--key",
      "mp/aborted.bin",
      "--upload-id",
      other.UploadId,
      "--part-number",
      "1",
      "--body",
      "part2",
    ]);
    const inProgress = await api(["list-multipart-uploads", "--bucket", bucket]);
    expect(inProgress.Uploads.map((u: { UploadId: string }) => u.UploadId)).toEqual([other.UploadId]);
    await api([
      "abort-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      "mp/aborted.bin",
      "--upload-id",
      other.UploadId,
    ]);
    const none = await api(["list-multipart-uploads", "--bucket", bucket]);
    expect(none.Uploads ?? []).toEqual([]);
    await fails(
      ["s3api", "list-parts", "--bucket", bucket, "--key", "mp/aborted.bin", "--upload-id", other.UploadId],
      /NoSuchUpload/,
    );
    await fails(["s3api", "head-object", "--bucket", bucket, "--key", "mp/aborted.bin"], /404|Not Found/);
  }, 120_000);

  it(`s3 presign makes a ${major === 2 ? "SigV4" : "SigV2"} URL curl downloads; a changed URL is refused`, async () => {
    const r = await ok(["s3", "presign", `s3://${bucket}/small.txt`, "--expires-in", "300"]);
    const url = r.stdout.trim();
    // v2 presigns with SigV4; v1 (botocore, us-east-1) with SigV2's AWSAccessKeyId/Expires/Signature.
    expect(url).toMatch(major === 2 ? /[?&]X-Amz-Signature=/ : /[?&]AWSAccessKeyId=.*&Signature=/);
    const got = await runTool("curl", ["-sS", "-f", url], { env: toolEnv({}) });
    expect(got.code, got.stderr).toBe(0);
    expect(sha256(got.stdoutBytes)).toBe(digestFile(file("small.txt")));
    const tampered = url.replace("/small.txt", "/big.bin");
    const refused = await runTool("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered], {
      env: toolEnv({}),
    });
    expect(refused.stdout).toBe("403");
  });

  it("s3 rm --recursive empties a folder; rb --force removes a bucket with its objects", async () => {
    await ok(["s3", "rm", `s3://${bucket}/tree/`, "--recursive"]);
    const left = await api(["list-objects-v2", "--bucket", bucket, "--prefix", "tree/"]);
    expect(left.Contents ?? []).toEqual([]);
    await fails(["s3", "rb", `s3://${bucket}`], /BucketNotEmpty/);
    await ok(["s3", "rb", `s3://${bucket}`, "--force"]);
    const ls = await ok(["s3", "ls"]);
    expect(ls.stdout).not.toContain(bucket);
    await fails(["s3api", "head-bucket", "--bucket", bucket], /404|Not Found/);
  }, 120_000);

  it("a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId", async () => {
    const creds = file("credentials");
    const good = readFileSync(creds, "utf8");
    copyFileSync(creds, file("credentials.good"));
    try {
      writeFileSync(
        creds,
        good.replace(
          keys.secretAccessKey,
          `${keys.secretAccessKey.slice(0, -1)}${keys.secretAccessKey.endsWith("X") ? "Y" : "X"}`,
        ),
      );
      await fails(["s3", "ls"], /SignatureDoesNotMatch/);
      writeFileSync(creds, good.replace(keys.accessKeyId, "AKIDUNKNOWN0000000000"));
      await fails(["s3", "ls"], /InvalidAccessKeyId/);
    } finally {
      copyFileSync(file("credentials.good"), creds);
    }
  });
});
