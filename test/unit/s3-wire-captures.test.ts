// Requests exactly as real clients put them on the wire: the JS SDK v3 live (its default checksums,
// streams with trailers, presigned URLs), and restic, rclone, aws-cli, boto3 and s3cmd as recorded by
// test/fixtures/s3-wire/capture.ts. Every one must verify and decode; one changed byte must not.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePath } from "../../src/s3/canonical.js";
import { S3Error } from "../../src/s3/errors.js";
import { PayloadDecoder, planPayload } from "../../src/s3/payload.js";
import { type S3RequestInput, verifyRequest } from "../../src/s3/sigv4.js";
import { parseAmzDate } from "../../src/s3/sigv4-params.js";
import {
  type CapturedRequest,
  type CaptureServer,
  startCaptureServer,
  toInput,
} from "../helpers/s3-capture.js";
import { ACCESS_KEY, S3_KEY_ODDITIES, SECRET } from "../helpers/s3-sign.js";

async function verifyAndDecode(req: CapturedRequest, secret: string, accessKeyId: string, now: number) {
  const input = toInput(req);
  const v = await verifyRequest(input, {
    lookup: async (id) => (id === accessKeyId ? { secret } : null),
    now,
  });
  const decoder = new PayloadDecoder(planPayload(v, v.headers));
  const parts: Buffer[] = [];
  for await (const b of decoder.body([req.body])) parts.push(Buffer.from(b));
  return { v, body: Buffer.concat(parts), result: decoder.result, input };
}

function amzTime(req: CapturedRequest): number {
  const input = toInput(req);
  const date = input.headers.get("x-amz-date") ?? /X-Amz-Date=(\d{8}T\d{6}Z)/.exec(input.rawQuery)?.[1];
  return parseAmzDate(date!)!;
}

/** Changes one byte of the body; every position must be caught by some proof (or be framing). */
async function expectEveryBodyFlipFails(
  req: CapturedRequest,
  secret: string,
  accessKeyId: string,
  now: number,
  positions: number[],
) {
  for (const i of positions) {
    const body = Buffer.from(req.body);
    body[i]! ^= 1;
    const e = await verifyAndDecode({ ...req, body }, secret, accessKeyId, now).catch((err: unknown) => err);
    expect(e, `byte ${i} of ${req.method} ${req.url}`).toBeInstanceOf(S3Error);
  }
}

function samplePositions(length: number): number[] {
  if (length <= 400) return [...Array(length).keys()];
  // The framing at both ends byte by byte, and a spread through the data.
  const out = new Set<number>();
  for (let i = 0; i < 200; i++) out.add(i).add(length - 1 - i);
  for (let i = 0; i < 200; i++) out.add(Math.floor((length * i) / 200));
  return [...out].filter((i) => i >= 0 && i < length);
}

describe("the JS SDK v3, live, with its default settings", () => {
  let server: CaptureServer;
  let client: S3Client;
  const bodies = new Map<string, Buffer>();

  beforeAll(async () => {
    server = await startCaptureServer();
    client = new S3Client({
      endpoint: server.url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  async function sendAndCheck(send: () => Promise<unknown>, expected?: Buffer) {
    const before = server.requests.length;
    await send();
    const req = server.requests[before]!;
    expect(server.requests.length).toBe(before + 1);
    const { body, v } = await verifyAndDecode(req, SECRET, ACCESS_KEY, Date.now());
    if (expected) expect(body).toEqual(expected);
    return { req, v };
  }

  it("PutObject of a Buffer: SHA-256 payload hash and an x-amz-checksum-crc32 header", async () => {
    const data = randomBytes(70_000);
    const { req, v } = await sendAndCheck(
      () => client.send(new PutObjectCommand({ Bucket: "bkt", Key: "buf.bin", Body: data })),
      data,
    );
    expect(v.payload.kind).toBe("sha256");
    expect(toInput(req).headers.get("x-amz-checksum-crc32")).toBeDefined();
    bodies.set("buf", data);
  });

  for (const algorithm of [undefined, "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const)
    it(`PutObject of a stream: STREAMING-UNSIGNED-PAYLOAD-TRAILER with ${algorithm ?? "the default CRC32"}`, async () => {
      const data = randomBytes(150_001);
      const { req, v } = await sendAndCheck(
        () =>
          client.send(
            new PutObjectCommand({
              Bucket: "bkt",
              Key: "stream.bin",
              Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
              ContentLength: data.length,
              ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
            }),
          ),
        data,
      );
      expect(v.payload.kind).toBe("streaming-unsigned-trailer");
      const trailer = toInput(req).headers.get("x-amz-trailer");
      expect(trailer).toBe(`x-amz-checksum-${(algorithm ?? "CRC32").toLowerCase()}`);
      await expectEveryBodyFlipFails(req, SECRET, ACCESS_KEY, Date.now(), samplePositions(req.body.length));
      // The same bytes arriving one at a time decode the same.
      const input = toInput(req);
      const again = await verifyRequest(input, { lookup: async () => ({ secret: SECRET }) });
      const decoder = new PayloadDecoder(planPayload(again, again.headers));
      const h = createHash("sha256");
      async function* bytes() {
        for (let i = 0; i < req.body.length; i += 1 + (i % 7)) yield req.body.subarray(i, i + 1 + (i % 7));
      }
      for await (const b of decoder.body(bytes())) h.update(b);
      expect(h.digest()).toEqual(createHash("sha256").update(data).digest());
    });

  for (const key of S3_KEY_ODDITIES)
    it(`every operation on the key ${JSON.stringify(key)}`, async () => {
      const data = Buffer.from(`content of ${key}`);
      const { req } = await sendAndCheck(
        () => client.send(new PutObjectCommand({ Bucket: "bkt", Key: key, Body: data })),
        data,
      );
      // The path the SDK sent names the key exactly.
      expect(decodePath(toInput(req).rawPath)).toBe(`/bkt/${key}`);
      await sendAndCheck(() => client.send(new HeadObjectCommand({ Bucket: "bkt", Key: key })));
      await sendAndCheck(() =>
        client.send(new GetObjectCommand({ Bucket: "bkt", Key: key, Range: "bytes=0-3" })),
      );
      await sendAndCheck(() => client.send(new DeleteObjectCommand({ Bucket: "bkt", Key: key })));
      await sendAndCheck(() =>
        client.send(
          new ListObjectsV2Command({
            Bucket: "bkt",
            Prefix: key,
            Delimiter: "/",
            StartAfter: key,
            ContinuationToken: "t+/=",
          }),
        ),
      );
    });

  it("multipart: Create (POST ?uploads), UploadPart, Complete (an XML body), and DeleteObjects", async () => {
    const { v } = await sendAndCheck(() =>
      client.send(new CreateMultipartUploadCommand({ Bucket: "bkt", Key: "big file.bin" })),
    );
    expect(v.query.map((q) => q.name)).toContain("uploads");
    const part = randomBytes(5000);
    const { v: pv } = await sendAndCheck(
      () =>
        client.send(
          new UploadPartCommand({
            Bucket: "bkt",
            Key: "big file.bin",
            UploadId: "u1",
            PartNumber: 7,
            Body: part,
          }),
        ),
      part,
    );
    expect(Object.fromEntries(pv.query.map((q) => [q.name, q.value]))).toMatchObject({
      partNumber: "7",
      uploadId: "u1",
    });
    const { req } = await sendAndCheck(() =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "bkt",
          Key: "big file.bin",
          UploadId: "u1",
          MultipartUpload: { Parts: [{ PartNumber: 7, ETag: '"abc"' }] },
        }),
      ),
    );
    expect(req.body.toString()).toContain("<PartNumber>7</PartNumber>");
    const { req: del } = await sendAndCheck(() =>
      client.send(
        new DeleteObjectsCommand({
          Bucket: "bkt",
          Delete: { Objects: [{ Key: "a & b" }, { Key: "<c>" }], Quiet: true },
        }),
      ),
    );
    expect(del.body.toString()).toContain("a &amp; b");
  });

  it("presigned GET and PUT URLs from getSignedUrl verify; a changed byte does not", async () => {
    for (const command of [
      new GetObjectCommand({
        Bucket: "bkt",
        Key: "é (1)+x.txt",
        ResponseContentDisposition: 'attachment; filename="a b.txt"',
      }),
      new PutObjectCommand({
        Bucket: "bkt",
        Key: "up load.txt",
        ContentType: "text/plain",
        Metadata: { owner: "bob" },
      }),
    ]) {
      const url = new URL(await getSignedUrl(client, command, { expiresIn: 3600 }));
      const input: S3RequestInput = toInput({
        method: command instanceof GetObjectCommand ? "GET" : "PUT",
        url: url.pathname + url.search,
        rawHeaders: ["Host", url.host],
      });
      const v = await verifyRequest(input, { lookup: async () => ({ secret: SECRET }) });
      expect(v.presigned).toBe(true);
      if (command instanceof PutObjectCommand) expect(v.headers.get("x-amz-meta-owner")).toBe("bob");
      const s = url.search.slice(1);
      for (let i = 0; i < s.length; i++) {
        const rawQuery = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ 1) + s.slice(i + 1);
        const e = await verifyRequest(
          { ...input, rawQuery },
          { lookup: async () => ({ secret: SECRET }) },
        ).catch((err: unknown) => err);
        expect(e, rawQuery).toBeInstanceOf(S3Error);
      }
    }
  });
});

interface Fixture {
  tool: string;
  version: string;
  accessKeyId: string;
  secret: string;
  requests: { method: string; url: string; rawHeaders: string[]; body: string }[];
}

const FIXTURES = ["restic", "rclone", "awscli", "boto3", "s3cmd"];

describe.each(FIXTURES)("recorded requests of %s", (tool) => {
  const fixture = JSON.parse(
    readFileSync(new URL(`../fixtures/s3-wire/${tool}.json`, import.meta.url), "utf8"),
  ) as Fixture;
  const requests: CapturedRequest[] = fixture.requests.map((r) => ({
    ...r,
    body: Buffer.from(r.body, "base64"),
  }));

  it(`every request of ${fixture.version} verifies and decodes`, async () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const req of requests) {
      const { body, result } = await verifyAndDecode(req, fixture.secret, fixture.accessKeyId, amzTime(req));
      expect(result.length).toBe(body.length);
    }
  });

  it("each body's bytes, changed one at a time, fail", async () => {
    const withBody = requests.filter((r) => r.body.length > 0);
    expect(withBody.length).toBeGreaterThan(0);
    for (const req of withBody) {
      const mode = toInput(req).headers.get("x-amz-content-sha256");
      // UNSIGNED-PAYLOAD with no checksum proves nothing about the body; rclone sends Content-MD5.
      if (mode === "UNSIGNED-PAYLOAD" && !toInput(req).headers.has("content-md5")) continue;
      await expectEveryBodyFlipFails(
        req,
        fixture.secret,
        fixture.accessKeyId,
        amzTime(req),
        samplePositions(req.body.length),
      );
    }
  });

  it("a changed byte in any signed header or in the URL fails", async () => {
    const req = requests.find((r) => r.body.length > 0) ?? requests[0]!;
    const now = amzTime(req);
    for (let h = 0; h < req.rawHeaders.length; h += 2) {
      const name = req.rawHeaders[h]!.toLowerCase();
      const signed =
        /SignedHeaders=([^,]+)/.exec(toInput(req).headers.get("authorization") ?? "")?.[1]?.split(";") ?? [];
      if (!signed.includes(name) && name !== "authorization") continue;
      const value = req.rawHeaders[h + 1]!;
      for (let i = 0; i < value.length; i += Math.max(1, Math.floor(value.length / 16))) {
        const rawHeaders = [...req.rawHeaders];
        rawHeaders[h + 1] =
          value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ 1) + value.slice(i + 1);
        const e = await verifyAndDecode(
          { ...req, rawHeaders },
          fixture.secret,
          fixture.accessKeyId,
          now,
        ).catch((err: unknown) => err);
        expect(e, `${name}: ${rawHeaders[h + 1]}`).toBeInstanceOf(S3Error);
      }
    }
    for (let i = 1; i < req.url.length; i++) {
      const url = req.url.slice(0, i) + String.fromCharCode(req.url.charCodeAt(i) ^ 1) + req.url.slice(i + 1);
      const e = await verifyAndDecode({ ...req, url }, fixture.secret, fixture.accessKeyId, now).catch(
        (err: unknown) => err,
      );
      expect(e, url).toBeInstanceOf(S3Error);
    }
  });
});
