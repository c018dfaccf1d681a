// The S3 API against the AWS SDK for JavaScript v3 (latest, default settings: its checksums send
// aws-chunked bodies with CRC32 trailers): every operation, through a real server process.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.js";
import { s3Call } from "../helpers/s3-raw.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

let server: ServerProcess;
let s3: S3Client;
let keys: { accessKeyId: string; secretAccessKey: string };

const MiB = 1024 * 1024;
const md5 = (b: Buffer | string) => createHash("md5").update(b).digest("hex");

function client(creds = keys, extra: Record<string, unknown> = {}): S3Client {
  return new S3Client({
    endpoint: server.s3Url,
    region: "eu-central-1",
    forcePathStyle: true,
    credentials: creds,
    ...extra,
  });
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as S3ServiceException;
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected the request to fail");
}

async function bodyOf(out: { Body?: unknown }): Promise<Buffer> {
  const b = out.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

beforeAll(async () => {
  server = await startServer({ s3: true });
  const r = await call(server, "POST", "/users/admin/access-keys", server.token, { label: "sdk" });
  expect(r.status, r.text).toBe(201);
  keys = { accessKeyId: r.json.accessKeyId, secretAccessKey: r.json.secretAccessKey };
  s3 = client();
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
  server?.cleanup();
});

describe("buckets", () => {
  it("creates, heads, lists and locates a bucket; refuses bad names and a second create", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "alpha" }));
    await s3.send(new HeadBucketCommand({ Bucket: "alpha" }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain("alpha");
    expect(list.Owner?.DisplayName).toBe("admin");
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: "alpha" }));
    expect(loc.LocationConstraint ?? "us-east-1").toBe("us-east-1");
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: "alpha" }));
    expect(ver.Status).toBeUndefined();
    expect(await errorOf(s3.send(new CreateBucketCommand({ Bucket: "alpha" })))).toEqual({
      name: "BucketAlreadyOwnedByYou",
      status: 409,
    });
    expect((await errorOf(s3.send(new CreateBucketCommand({ Bucket: "Bad_Name" })))).name).toBe(
      "InvalidBucketName",
    );
    expect((await errorOf(s3.send(new HeadBucketCommand({ Bucket: "nothere" })))).status).toBe(404);
  });

  it("an empty bucket survives listing; a bucket with objects cannot be deleted", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "empty-one" }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain("empty-one");
    await s3.send(new PutObjectCommand({ Bucket: "empty-one", Key: "x", Body: "x" }));
    expect((await errorOf(s3.send(new DeleteBucketCommand({ Bucket: "empty-one" })))).name).toBe(
      "BucketNotEmpty",
    );
    await s3.send(new DeleteObjectCommand({ Bucket: "empty-one", Key: "x" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "empty-one" }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).not.toContain(
      "empty-one",
    );
    expect((await errorOf(s3.send(new DeleteBucketCommand({ Bucket: "empty-one" })))).name).toBe(
      "NoSuchBucket",
    );
  });
});

describe("objects", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "objs" }));
  });

  it("puts with metadata and headers, gets and heads them back, encrypted at rest as SSE-S3", async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "objs",
        Key: "docs/report.txt",
        Body: "hello, world",
        ContentType: "text/plain",
        CacheControl: "max-age=60",
        ContentDisposition: 'attachment; filename="r.txt"',
        Metadata: { project: "apollo", "x-owner": "team" },
      }),
    );
    expect(put.ETag).toBe(`"${md5("hello, world")}"`);
    expect(put.ServerSideEncryption).toBe("AES256");
    const get = await s3.send(new GetObjectCommand({ Bucket: "objs", Key: "docs/report.txt" }));
    expect((await bodyOf(get)).toString()).toBe("hello, world");
    expect(get.ContentType).toBe("text/plain");
    expect(get.CacheControl).toBe("max-age=60");
    expect(get.ContentDisposition).toBe('attachment; filename="r.txt"');
    expect(get.Metadata).toEqual({ project: "apollo", "x-owner": "team" });
    expect(get.ETag).toBe(put.ETag);
    expect(get.ServerSideEncryption).toBe("AES256");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "objs", Key: "docs/report.txt" }));
    expect(head.ContentLength).toBe(12);
    expect(head.Metadata).toEqual({ project: "apollo", "x-owner": "team" });
    // The same object, through the native API.
    const native = await call(server, "GET", "/data/objs/docs/report.txt", server.token);
    expect(native.text).toBe("hello, world");
  });

  it("answers ranges, conditions, overrides and checksums", async () => {
    const data = randomBytes(300_000);
    const put = await s3.send(new PutObjectCommand({ Bucket: "objs", Key: "bin", Body: data }));
    const r = await s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", Range: "bytes=70000-70009" }));
    expect(r.ContentRange).toBe(`bytes 70000-70009/${data.length}`);
    expect((await bodyOf(r)).equals(data.subarray(70000, 70010))).toBe(true);
    const tail = await s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", Range: "bytes=-5" }));
    expect((await bodyOf(tail)).equals(data.subarray(-5))).toBe(true);
    expect(
      (await errorOf(s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", Range: "bytes=999999-" }))))
        .name,
    ).toBe("InvalidRange");
    expect(
      (await errorOf(s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", IfMatch: '"0000"' }))))
        .status,
    ).toBe(412);
    expect(
      (await errorOf(s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", IfNoneMatch: put.ETag }))))
        .status,
    ).toBe(304);
    const later = new Date(Date.now() + 3600_000);
    expect(
      (await errorOf(s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", IfModifiedSince: later }))))
        .status,
    ).toBe(304);
    const earlier = new Date(Date.now() - 3600_000);
    expect(
      (
        await errorOf(
          s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", IfUnmodifiedSince: earlier })),
        )
      ).status,
    ).toBe(412);
    const over = await s3.send(
      new GetObjectCommand({
        Bucket: "objs",
        Key: "bin",
        ResponseContentType: "image/png",
        ResponseContentDisposition: "inline",
      }),
    );
    expect([over.ContentType, over.ContentDisposition]).toEqual(["image/png", "inline"]);
    await bodyOf(over);
    const sum = await s3.send(new GetObjectCommand({ Bucket: "objs", Key: "bin", ChecksumMode: "ENABLED" }));
    expect(sum.ChecksumCRC32).toBeTruthy();
    expect((await bodyOf(sum)).equals(data)).toBe(true);
  });

  it("If-Range: the range only while the object is the one named, else the whole object", async () => {
    const data = randomBytes(200_000);
    const put = await s3.send(new PutObjectCommand({ Bucket: "objs", Key: "resumable", Body: data }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: "objs", Key: "resumable" }));
    const get = (ifRange: string) =>
      s3Call(
        { port: server.s3Port, ...keys },
        { method: "GET", path: "/objs/resumable", headers: { range: "bytes=100-199", "if-range": ifRange } },
      );
    const same = await get(put.ETag!);
    expect(same.status).toBe(206);
    expect(same.body.equals(data.subarray(100, 200))).toBe(true);
    const sameDate = await get(head.LastModified!.toUTCString());
    expect(sameDate.status).toBe(206);
    // A client resuming a download of an older version must get the new one whole, not a mix.
    for (const stale of [
      '"0123456789abcdef0123456789abcdef"',
      new Date(Date.now() - 86_400_000).toUTCString(),
      "garbage",
    ]) {
      const r = await get(stale);
      expect(r.status, stale).toBe(200);
      expect(r.body.equals(data), stale).toBe(true);
    }
  });

  it("writes conditionally: If-None-Match: * and If-Match", async () => {
    const first = await s3.send(
      new PutObjectCommand({ Bucket: "objs", Key: "cond", Body: "one", IfNoneMatch: "*" }),
    );
    expect(
      (
        await errorOf(
          s3.send(new PutObjectCommand({ Bucket: "objs", Key: "cond", Body: "two", IfNoneMatch: "*" })),
        )
      ).status,
    ).toBe(412);
    expect(
      (
        await errorOf(
          s3.send(new PutObjectCommand({ Bucket: "objs", Key: "cond", Body: "two", IfMatch: '"abc"' })),
        )
      ).status,
    ).toBe(412);
    await s3.send(new PutObjectCommand({ Bucket: "objs", Key: "cond", Body: "three", IfMatch: first.ETag }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "objs", Key: "cond" }));
    expect((await bodyOf(got)).toString()).toBe("three");
  });

  it("copies with COPY and REPLACE metadata, re-encrypted under a new key", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: "objs",
        Key: "src",
        Body: "copy me",
        Metadata: { a: "1" },
        ContentType: "text/x-a",
      }),
    );
    const c1 = await s3.send(new CopyObjectCommand({ Bucket: "objs", Key: "dst1", CopySource: "objs/src" }));
    expect(c1.CopyObjectResult?.ETag).toBe(`"${md5("copy me")}"`);
    const h1 = await s3.send(new HeadObjectCommand({ Bucket: "objs", Key: "dst1" }));
    expect([h1.ContentType, h1.Metadata]).toEqual(["text/x-a", { a: "1" }]);
    await s3.send(
      new CopyObjectCommand({
        Bucket: "objs",
        Key: "dst2",
        CopySource: "/objs/src",
        MetadataDirective: "REPLACE",
        Metadata: { b: "2" },
        ContentType: "text/x-b",
      }),
    );
    const h2 = await s3.send(new HeadObjectCommand({ Bucket: "objs", Key: "dst2" }));
    expect([h2.ContentType, h2.Metadata]).toEqual(["text/x-b", { b: "2" }]);
    expect(
      (await errorOf(s3.send(new CopyObjectCommand({ Bucket: "objs", Key: "src", CopySource: "objs/src" }))))
        .name,
    ).toBe("InvalidRequest");
    expect(
      (await errorOf(s3.send(new CopyObjectCommand({ Bucket: "objs", Key: "x", CopySource: "objs/none" }))))
        .name,
    ).toBe("NoSuchKey");
  });

  it("deletes one object (absent ones too) and many at once, quietly or not", async () => {
    for (const k of ["d/1", "d/2", "d/3"])
      await s3.send(new PutObjectCommand({ Bucket: "objs", Key: k, Body: k }));
    await s3.send(new DeleteObjectCommand({ Bucket: "objs", Key: "d/1" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "objs", Key: "d/never" }));
    const loud = await s3.send(
      new DeleteObjectsCommand({ Bucket: "objs", Delete: { Objects: [{ Key: "d/2" }, { Key: "d/none" }] } }),
    );
    expect(loud.Deleted?.map((d) => d.Key).sort()).toEqual(["d/2", "d/none"]);
    const quiet = await s3.send(
      new DeleteObjectsCommand({ Bucket: "objs", Delete: { Objects: [{ Key: "d/3" }], Quiet: true } }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "objs", Prefix: "d/" }))).KeyCount).toBe(0);
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: "objs", Key: "d/1" })))).name).toBe(
      "NoSuchKey",
    );
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: "nobucket", Key: "d/1" })))).name).toBe(
      "NoSuchBucket",
    );
  });

  it("answers tagging with an empty set", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "objs", Key: "tagged", Body: "t" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: "objs", Key: "tagged" }))).TagSet).toEqual(
      [],
    );
  });
});

describe("listing", () => {
  const keysToList = ["a/1", "a/2", "a/b/3", "b", "c/ä ö", "c/x+y", "d%e", "z/é/1"];
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "lst" }));
    for (const k of keysToList) await s3.send(new PutObjectCommand({ Bucket: "lst", Key: k, Body: k }));
  });

  it("lists v2 with prefix, delimiter, pages, start-after, url encoding and owners", async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: "lst" }));
    const bytewise = [...keysToList].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(all.Contents?.map((c) => c.Key)).toEqual(bytewise);
    expect(all.Contents?.[0]?.ETag).toBe(`"${md5("a/1")}"`);
    const folded = await s3.send(new ListObjectsV2Command({ Bucket: "lst", Delimiter: "/" }));
    expect(folded.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["a/", "c/", "z/"]);
    expect(folded.Contents?.map((c) => c.Key)).toEqual(["b", "d%e"]);
    const inA = await s3.send(new ListObjectsV2Command({ Bucket: "lst", Prefix: "a/", Delimiter: "/" }));
    expect([inA.Contents?.map((c) => c.Key), inA.CommonPrefixes?.map((p) => p.Prefix)]).toEqual([
      ["a/1", "a/2"],
      ["a/b/"],
    ]);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: "lst", MaxKeys: 3, ContinuationToken: token }),
      );
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
      if (token) expect(page.IsTruncated).toBe(true);
    } while (token);
    expect(seen).toEqual(bytewise);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: "lst", StartAfter: "b" }));
    expect(after.Contents?.[0]?.Key).toBe("c/x+y");
    const url = await s3.send(
      new ListObjectsV2Command({ Bucket: "lst", Prefix: "c/", EncodingType: "url", FetchOwner: true }),
    );
    // With encoding-type=url the SDK hands the keys over as sent: URL-encoded.
    expect(url.Contents?.map((c) => decodeURIComponent(c.Key!)).sort()).toEqual(["c/x+y", "c/ä ö"].sort());
    expect(url.Contents?.[0]?.Owner?.DisplayName).toBe("admin");
  });

  it("lists v1 with marker", async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: "lst", MaxKeys: 2 }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(["a/1", "a/2"]);
    expect(first.IsTruncated).toBe(true);
    const next = await s3.send(new ListObjectsCommand({ Bucket: "lst", Marker: "a/2", MaxKeys: 2 }));
    expect(next.Contents?.map((c) => c.Key)).toEqual(["a/b/3", "b"]);
    const folded = await s3.send(new ListObjectsCommand({ Bucket: "lst", Delimiter: "/", MaxKeys: 1 }));
    expect(folded.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["a/"]);
    const rest = await s3.send(
      new ListObjectsCommand({ Bucket: "lst", Delimiter: "/", Marker: folded.NextMarker }),
    );
    expect(rest.Contents?.map((c) => c.Key)).toEqual(["b", "d%e"]);
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["c/", "z/"]);
  });
});

describe("multipart", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "mpu" }));
  });

  it("uploads 200 MiB with lib-storage, 4 parts in parallel, and reads it back whole and in ranges", async () => {
    const size = 200 * MiB;
    const seed = randomBytes(MiB);
    const hash = createHash("sha256");
    function* chunks() {
      for (let i = 0; i < size / MiB; i++) {
        const c = Buffer.from(seed);
        c.writeUInt32BE(i, 0);
        hash.update(c);
        yield c;
      }
    }
    const upload = new Upload({
      client: s3,
      params: { Bucket: "mpu", Key: "big.bin", Body: Readable.from(chunks()) },
      queueSize: 4,
      partSize: 16 * MiB,
    });
    const done = await upload.done();
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-13"$/);
    const expected = hash.digest("hex");
    const get = await s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "big.bin" }));
    expect(get.ContentLength).toBe(size);
    const got = createHash("sha256");
    for await (const c of get.Body as AsyncIterable<Uint8Array>) got.update(c);
    expect(got.digest("hex")).toBe(expected);
    // A range across a part boundary opens only the parts it covers.
    const cross = await s3.send(
      new GetObjectCommand({ Bucket: "mpu", Key: "big.bin", Range: `bytes=${16 * MiB - 3}-${16 * MiB + 2}` }),
    );
    const crossBytes = await bodyOf(cross);
    const want = Buffer.concat([Buffer.from(seed), Buffer.from(seed)]);
    want.writeUInt32BE(15, 0);
    want.writeUInt32BE(16, MiB);
    expect(crossBytes.equals(want.subarray(MiB - 3, MiB + 3))).toBe(true);
    const part2 = await s3.send(new HeadObjectCommand({ Bucket: "mpu", Key: "big.bin", PartNumber: 2 }));
    expect([part2.ContentLength, part2.PartsCount]).toEqual([16 * MiB, 13]);
  }, 180_000);

  it("takes parts out of order and again, lists them, completes, and checks what Complete names", async () => {
    const create = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: "mpu",
        Key: "parts",
        ContentType: "text/x-parts",
        Metadata: { m: "v" },
      }),
    );
    const uploadId = create.UploadId!;
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(1234);
    const up2 = await s3.send(
      new UploadPartCommand({ Bucket: "mpu", Key: "parts", UploadId: uploadId, PartNumber: 2, Body: p2 }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: "mpu",
        Key: "parts",
        UploadId: uploadId,
        PartNumber: 1,
        Body: randomBytes(5 * MiB),
      }),
    );
    const up1 = await s3.send(
      new UploadPartCommand({ Bucket: "mpu", Key: "parts", UploadId: uploadId, PartNumber: 1, Body: p1 }),
    );
    expect(up1.ETag).toBe(`"${md5(p1)}"`);
    const listed = await s3.send(new ListPartsCommand({ Bucket: "mpu", Key: "parts", UploadId: uploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 5 * MiB, up1.ETag],
      [2, 1234, up2.ETag],
    ]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual(["parts", uploadId]);
    const bad = (parts: { PartNumber: number; ETag?: string }[]) =>
      errorOf(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: "mpu",
            Key: "parts",
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    expect(
      (
        await bad([
          { PartNumber: 2, ETag: up2.ETag },
          { PartNumber: 1, ETag: up1.ETag },
        ])
      ).name,
    ).toBe("InvalidPartOrder");
    expect((await bad([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])).name).toBe(
      "InvalidPart",
    );
    expect(
      (
        await bad([
          { PartNumber: 2, ETag: up2.ETag },
          { PartNumber: 3, ETag: up2.ETag },
        ])
      ).name,
    ).toBe("InvalidPart");
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "mpu",
        Key: "parts",
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: up1.ETag },
            { PartNumber: 2, ETag: up2.ETag },
          ],
        },
      }),
    );
    const etags = Buffer.concat([Buffer.from(md5(p1), "hex"), Buffer.from(md5(p2), "hex")]);
    expect(done.ETag).toBe(`"${md5(etags)}-2"`);
    const get = await s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "parts" }));
    expect((await bodyOf(get)).equals(Buffer.concat([p1, p2]))).toBe(true);
    expect([get.ContentType, get.Metadata, get.ETag]).toEqual(["text/x-parts", { m: "v" }, done.ETag]);
    expect(
      (await errorOf(s3.send(new ListPartsCommand({ Bucket: "mpu", Key: "parts", UploadId: uploadId }))))
        .name,
    ).toBe("NoSuchUpload");
  });

  it("refuses a small part that is not the last, aborts, and copies parts from objects", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "small" }));
    const a = await s3.send(
      new UploadPartCommand({ Bucket: "mpu", Key: "small", UploadId, PartNumber: 1, Body: "tiny" }),
    );
    const b = await s3.send(
      new UploadPartCommand({ Bucket: "mpu", Key: "small", UploadId, PartNumber: 2, Body: "tiny" }),
    );
    expect(
      (
        await errorOf(
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: "mpu",
              Key: "small",
              UploadId,
              MultipartUpload: {
                Parts: [
                  { PartNumber: 1, ETag: a.ETag },
                  { PartNumber: 2, ETag: b.ETag },
                ],
              },
            }),
          ),
        )
      ).name,
    ).toBe("EntityTooSmall");
    await s3.send(new AbortMultipartUploadCommand({ Bucket: "mpu", Key: "small", UploadId }));
    expect(
      (
        await errorOf(
          s3.send(new UploadPartCommand({ Bucket: "mpu", Key: "small", UploadId, PartNumber: 3, Body: "x" })),
        )
      ).name,
    ).toBe("NoSuchUpload");
    const src = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: "mpu", Key: "copysrc", Body: src }));
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "copied" }));
    const cp1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: "mpu",
        Key: "copied",
        UploadId: c.UploadId,
        PartNumber: 1,
        CopySource: "mpu/copysrc",
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    );
    const cp2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: "mpu",
        Key: "copied",
        UploadId: c.UploadId,
        PartNumber: 2,
        CopySource: "mpu/copysrc",
        CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}`,
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "mpu",
        Key: "copied",
        UploadId: c.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: cp1.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: cp2.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    expect(
      (await bodyOf(await s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "copied" })))).equals(src),
    ).toBe(true);
  });

  it("lists uploads page by page, folded by a delimiter, each once", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "mpl" }));
    const ids = new Map<string, string[]>();
    for (const Key of ["a", "b/1", "b/2", "c", "c", "d/x/1"]) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "mpl", Key }));
      ids.set(Key, [...(ids.get(Key) ?? []), UploadId!]);
    }
    async function pages(max: number, Delimiter?: string): Promise<string[]> {
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await s3.send(
          new ListMultipartUploadsCommand({
            Bucket: "mpl",
            MaxUploads: max,
            Delimiter,
            KeyMarker,
            UploadIdMarker,
          }),
        );
        seen.push(...(page.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`));
        seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
        if (!page.IsTruncated) return seen;
        expect(page.NextKeyMarker, "a truncated page says where the next begins").toBeTruthy();
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker || undefined;
      }
      throw new Error("the pages never ended");
    }
    const all = [...ids].flatMap(([k, us]) => us.map((u) => `${k} ${u}`)).sort();
    for (const max of [1, 2, 1000]) expect((await pages(max)).sort(), `max ${max}`).toEqual(all);
    const folded = ["a", "c"].flatMap((k) => ids.get(k)!.map((u) => `${k} ${u}`));
    for (const max of [1, 2, 3, 1000])
      expect((await pages(max, "/")).sort(), `max ${max}`).toEqual([...folded, "b/", "d/"].sort());
  });

  it("reads each part by its number: its own bytes, and none for an empty last part", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "by-part" }));
    const p1 = randomBytes(5 * MiB + 3);
    const parts = [];
    for (const [n, body] of [p1, Buffer.alloc(0)].entries())
      parts.push({
        PartNumber: n + 1,
        ETag: (
          await s3.send(
            new UploadPartCommand({ Bucket: "mpu", Key: "by-part", UploadId, PartNumber: n + 1, Body: body }),
          )
        ).ETag,
      });
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "mpu",
        Key: "by-part",
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const one = await s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "by-part", PartNumber: 1 }));
    expect([one.ContentLength, one.ContentRange, one.PartsCount]).toEqual([
      p1.length,
      `bytes 0-${p1.length - 1}/${p1.length}`,
      2,
    ]);
    expect((await bodyOf(one)).equals(p1)).toBe(true);
    // Part 2 holds no bytes: never the whole object in its place.
    const two = await s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "by-part", PartNumber: 2 }));
    expect([two.ContentLength, two.PartsCount]).toEqual([0, 2]);
    expect((await bodyOf(two)).length).toBe(0);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "mpu", Key: "by-part", PartNumber: 2 }));
    expect([head.ContentLength, head.PartsCount]).toEqual([0, 2]);
    expect(
      (await errorOf(s3.send(new GetObjectCommand({ Bucket: "mpu", Key: "by-part", PartNumber: 3 })))).name,
    ).toBe("InvalidPartNumber");
  });
});

describe("presigned URLs and signatures", () => {
  it("a presigned GET and a presigned PUT work without credentials of their own", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "pre" }));
    await s3.send(new PutObjectCommand({ Bucket: "pre", Key: "p", Body: "presigned" }));
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "pre", Key: "p" }), {
      expiresIn: 600,
    });
    expect(await (await fetch(getUrl)).text()).toBe("presigned");
    const putClient = client(keys, { requestChecksumCalculation: "WHEN_REQUIRED" });
    const putUrl = await getSignedUrl(putClient, new PutObjectCommand({ Bucket: "pre", Key: "q" }), {
      expiresIn: 600,
    });
    expect((await fetch(putUrl, { method: "PUT", body: "put by url" })).status).toBe(200);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: "pre", Key: "q" })))).toString()).toBe(
      "put by url",
    );
    // One flipped character of the signature is refused.
    const broken = getUrl.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_m, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`,
    );
    expect((await fetch(broken)).status).toBe(403);
    putClient.destroy();
  });

  it("refuses a wrong secret, an unknown key and anonymous requests", async () => {
    const wrong = client({ accessKeyId: keys.accessKeyId, secretAccessKey: "not-the-secret" });
    expect(await errorOf(wrong.send(new ListBucketsCommand({})))).toEqual({
      name: "SignatureDoesNotMatch",
      status: 403,
    });
    const unknown = client({ accessKeyId: "SSEKAAAAAAAAAAAAAAAA", secretAccessKey: "x" });
    expect((await errorOf(unknown.send(new ListBucketsCommand({})))).name).toBe("InvalidAccessKeyId");
    const anon = await fetch(`${server.s3Url}/pre/p`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).toContain("<Code>AccessDenied</Code>");
    wrong.destroy();
    unknown.destroy();
  });
});
