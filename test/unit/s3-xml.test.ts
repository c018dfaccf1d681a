// The XML documents, read back by the real JS SDK v3 (its deserializers are the oracle for what we
// write), and the request bodies it writes, read by our parser (the oracle for what we read).
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Error } from "../../src/s3/errors.js";
import { parseXml } from "../../src/s3/xml-read.js";
import {
  parseCompleteMultipartUpload,
  parseCreateBucketConfiguration,
  parseDeleteObjects,
  parseTagging,
  readBoundedBody,
} from "../../src/s3/xml-requests.js";
import {
  completeMultipartUploadXml,
  copyObjectXml,
  copyPartXml,
  deleteResultXml,
  initiateMultipartUploadXml,
  listBucketsXml,
  listMultipartUploadsXml,
  listObjectsV1Xml,
  listObjectsV2Xml,
  listPartsXml,
  locationConstraintXml,
  taggingXml,
  versioningConfigurationXml,
} from "../../src/s3/xml-responses.js";
import { errorXml, escapeXml } from "../../src/s3/xml-write.js";
import { type CaptureServer, type Reply, startCaptureServer } from "../helpers/s3-capture.js";
import { S3_KEY_ODDITIES } from "../helpers/s3-sign.js";

const XML_KEYS = [
  ...S3_KEY_ODDITIES,
  "a & b",
  "<tag>",
  "quote\"apos'",
  "]]>",
  "tab\there",
  "line\nbreak",
  "cr\rhere",
  " lead and trail ",
];
const T = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
const owner = { id: "alice", displayName: "alice" };

let server: CaptureServer;
let client: S3Client;
let reply: Reply = { status: 200 };

beforeAll(async () => {
  server = await startCaptureServer(() => reply);
  client = new S3Client({
    endpoint: server.url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
});

const xml = (body: string): Reply => ({ status: 200, headers: { "content-type": "application/xml" }, body });

describe("response documents, as the JS SDK reads them", () => {
  it("ListAllMyBucketsResult", async () => {
    reply = xml(
      listBucketsXml({
        owner,
        buckets: [
          { name: "photos", creationDate: T },
          { name: "backup.2026", creationDate: T },
        ],
      }),
    );
    const out = await client.send(new ListBucketsCommand({}));
    expect(out.Buckets).toEqual([
      { Name: "photos", CreationDate: T },
      { Name: "backup.2026", CreationDate: T },
    ]);
    expect(out.Owner).toEqual({ ID: "alice", DisplayName: "alice" });
  });

  it("ListBucketResult v2 with every odd key, CommonPrefixes and a continuation", async () => {
    reply = xml(
      listObjectsV2Xml({
        bucket: "b",
        prefix: "p & q",
        delimiter: "/",
        maxKeys: 1000,
        isTruncated: true,
        continuationToken: "c1",
        nextContinuationToken: "n+2/=",
        startAfter: "<s>",
        contents: XML_KEYS.map((key, i) => ({ key, lastModified: T, etag: '"abc"', size: i, owner })),
        commonPrefixes: ["dir & co/", "<x>/"],
      }),
    );
    const out = await client.send(new ListObjectsV2Command({ Bucket: "b" }));
    expect(out.Contents!.map((c) => c.Key)).toEqual(XML_KEYS);
    expect(out.Contents![3]).toMatchObject({
      Size: 3,
      ETag: '"abc"',
      LastModified: T,
      StorageClass: "STANDARD",
    });
    expect(out.CommonPrefixes).toEqual([{ Prefix: "dir & co/" }, { Prefix: "<x>/" }]);
    expect(out).toMatchObject({
      Name: "b",
      Prefix: "p & q",
      Delimiter: "/",
      MaxKeys: 1000,
      KeyCount: XML_KEYS.length + 2,
      IsTruncated: true,
      ContinuationToken: "c1",
      NextContinuationToken: "n+2/=",
      StartAfter: "<s>",
    });
  });

  it("encoding-type=url percent-encodes keys, prefixes and the delimiter, and they decode back exactly", async () => {
    const keys = [...XML_KEYS, "\u0001control", "\u001fus"];
    reply = xml(
      listObjectsV2Xml({
        bucket: "b",
        prefix: "a b+",
        delimiter: "/",
        maxKeys: 10,
        isTruncated: false,
        encodingType: "url",
        startAfter: "x y",
        contents: keys.map((key) => ({ key, lastModified: T, etag: '"e"', size: 1 })),
        commonPrefixes: ["d ir/"],
      }),
    );
    const out = await client.send(new ListObjectsV2Command({ Bucket: "b", EncodingType: "url" }));
    expect(out.EncodingType).toBe("url");
    expect(out.Contents!.map((c) => decodeURIComponent(c.Key!))).toEqual(keys);
    expect(decodeURIComponent(out.Prefix!)).toBe("a b+");
    expect(decodeURIComponent(out.StartAfter!)).toBe("x y");
    expect(out.CommonPrefixes!.map((p) => decodeURIComponent(p.Prefix!))).toEqual(["d ir/"]);
  });

  it("ListBucketResult v1 with Marker and NextMarker", async () => {
    reply = xml(
      listObjectsV1Xml({
        bucket: "b",
        marker: "m & n",
        nextMarker: "z",
        delimiter: "/",
        maxKeys: 2,
        isTruncated: true,
        contents: [{ key: "k&1", lastModified: T, etag: '"e"', size: 5, owner }],
        commonPrefixes: ["p/"],
      }),
    );
    const out = await client.send(new ListObjectsCommand({ Bucket: "b" }));
    expect(out).toMatchObject({
      Marker: "m & n",
      NextMarker: "z",
      MaxKeys: 2,
      IsTruncated: true,
      Delimiter: "/",
    });
    expect(out.Contents).toEqual([
      {
        Key: "k&1",
        LastModified: T,
        ETag: '"e"',
        Size: 5,
        Owner: { ID: "alice", DisplayName: "alice" },
        StorageClass: "STANDARD",
      },
    ]);
    expect(out.CommonPrefixes).toEqual([{ Prefix: "p/" }]);
  });

  it("multipart documents: Initiate, Complete, ListParts, ListMultipartUploads", async () => {
    reply = xml(initiateMultipartUploadXml({ bucket: "b", key: "a & b", uploadId: "u-1" }));
    expect(await client.send(new CreateMultipartUploadCommand({ Bucket: "b", Key: "a & b" }))).toMatchObject({
      Bucket: "b",
      Key: "a & b",
      UploadId: "u-1",
    });

    reply = xml(
      completeMultipartUploadXml({
        location: "http://h/b/k",
        bucket: "b",
        key: "k",
        etag: '"abc-2"',
        checksums: { crc32: Buffer.from([1, 2, 3, 4]) },
        checksumType: "COMPOSITE",
      }),
    );
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: "b",
        Key: "k",
        UploadId: "u",
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: "x" }] },
      }),
    );
    expect(done).toMatchObject({
      Location: "http://h/b/k",
      ETag: '"abc-2"',
      ChecksumCRC32: "AQIDBA==",
      ChecksumType: "COMPOSITE",
    });

    reply = xml(
      listPartsXml({
        bucket: "b",
        key: "k",
        uploadId: "u",
        partNumberMarker: 0,
        nextPartNumberMarker: 2,
        maxParts: 2,
        isTruncated: true,
        owner,
        parts: [
          { partNumber: 1, lastModified: T, etag: '"p1"', size: 5 << 20 },
          { partNumber: 2, lastModified: T, etag: '"p2"', size: 10, checksums: { sha256: "c2hh" } },
        ],
      }),
    );
    const parts = await client.send(new ListPartsCommand({ Bucket: "b", Key: "k", UploadId: "u" }));
    expect(parts).toMatchObject({
      NextPartNumberMarker: "2",
      MaxParts: 2,
      IsTruncated: true,
      Initiator: { ID: "alice" },
    });
    expect(parts.Parts).toEqual([
      { PartNumber: 1, LastModified: T, ETag: '"p1"', Size: 5 << 20 },
      { PartNumber: 2, LastModified: T, ETag: '"p2"', Size: 10, ChecksumSHA256: "c2hh" },
    ]);

    reply = xml(
      listMultipartUploadsXml({
        bucket: "b",
        maxUploads: 1000,
        isTruncated: false,
        uploads: [{ key: "k <1>", uploadId: "u1", initiated: T, owner }],
        commonPrefixes: ["dir/"],
      }),
    );
    const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: "b" }));
    expect(ups.Uploads).toEqual([
      {
        Key: "k <1>",
        UploadId: "u1",
        Initiated: T,
        Owner: { ID: "alice", DisplayName: "alice" },
        Initiator: { ID: "alice", DisplayName: "alice" },
        StorageClass: "STANDARD",
      },
    ]);
    expect(ups.CommonPrefixes).toEqual([{ Prefix: "dir/" }]);
  });

  it("CopyObjectResult and CopyPartResult", async () => {
    reply = xml(copyObjectXml({ etag: '"c"', lastModified: T }));
    expect(
      (await client.send(new CopyObjectCommand({ Bucket: "b", Key: "k", CopySource: "b/src" })))
        .CopyObjectResult,
    ).toEqual({ ETag: '"c"', LastModified: T });
    reply = xml(copyPartXml({ etag: '"p"', lastModified: T, checksums: { crc32c: "AAAAAA==" } }));
    const part = await client.send(
      new UploadPartCopyCommand({ Bucket: "b", Key: "k", CopySource: "b/src", UploadId: "u", PartNumber: 1 }),
    );
    expect(part.CopyPartResult).toEqual({ ETag: '"p"', LastModified: T, ChecksumCRC32C: "AAAAAA==" });
  });

  it("DeleteResult with deletions and errors", async () => {
    reply = xml(
      deleteResultXml({
        deleted: [{ key: "a & b" }],
        errors: [{ key: "<c>", code: "AccessDenied", message: "Access Denied" }],
      }),
    );
    const out = await client.send(
      new DeleteObjectsCommand({ Bucket: "b", Delete: { Objects: [{ Key: "a & b" }, { Key: "<c>" }] } }),
    );
    expect(out.Deleted).toEqual([{ Key: "a & b" }]);
    expect(out.Errors).toEqual([{ Key: "<c>", Code: "AccessDenied", Message: "Access Denied" }]);
  });

  it("LocationConstraint (empty for us-east-1), versioning never enabled, an empty tag set", async () => {
    reply = xml(locationConstraintXml("us-east-1"));
    expect(
      (await client.send(new GetBucketLocationCommand({ Bucket: "b" }))).LocationConstraint,
    ).toBeUndefined();
    reply = xml(locationConstraintXml("eu-west-3"));
    expect((await client.send(new GetBucketLocationCommand({ Bucket: "b" }))).LocationConstraint).toBe(
      "eu-west-3",
    );
    reply = xml(versioningConfigurationXml());
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: "b" }))).Status).toBeUndefined();
    reply = xml(taggingXml());
    expect((await client.send(new GetObjectTaggingCommand({ Bucket: "b", Key: "k" }))).TagSet).toEqual([]);
    reply = xml(taggingXml([{ key: "k&", value: "<v>" }]));
    expect((await client.send(new GetObjectTaggingCommand({ Bucket: "b", Key: "k" }))).TagSet).toEqual([
      { Key: "k&", Value: "<v>" },
    ]);
  });

  it("Error: the SDK sees the code, message, status and request id", async () => {
    for (const [code, status] of [
      ["NoSuchKey", 404],
      ["SignatureDoesNotMatch", 403],
      ["SlowDown", 503],
    ] as const) {
      const e = new S3Error(code);
      reply = {
        status: e.status,
        headers: { "content-type": "application/xml", "x-amz-request-id": "REQ1" },
        body: errorXml({
          code: e.code,
          message: e.message,
          resource: "/b/k & <x>",
          requestId: "REQ1",
          fields: { ServerTime: "x" },
        }),
      };
      const err = await client.send(new GetObjectCommand({ Bucket: "b", Key: "k" })).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(S3ServiceException);
      expect((err as S3ServiceException).name).toBe(code);
      expect((err as S3ServiceException).message).toBe(e.message);
      expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(status);
    }
  });

  it("escapes what XML 1.0 can carry and replaces what it cannot", () => {
    expect(escapeXml(`a&b<c>"d'e`)).toBe("a&amp;b&lt;c&gt;&quot;d&apos;e");
    expect(escapeXml("t\tn\nr\r")).toBe("t&#x9;n&#xA;r&#xD;");
    expect(escapeXml("nul\u0000 bell\u0007 \ufffe \ud800 ok 🎉")).toBe(
      "nul\ufffd bell\ufffd \ufffd \ufffd ok 🎉",
    );
    expect(parseXml(`<a>${escapeXml("x\ty\r\nz & <é>")}</a>`).text).toBe("x\ty\r\nz & <é>");
  });
});

describe("request bodies, as the JS SDK writes them", () => {
  function lastBody(): Buffer {
    return server.requests[server.requests.length - 1]!.body;
  }

  it("CompleteMultipartUpload: part numbers, ETags and checksums", async () => {
    reply = xml(completeMultipartUploadXml({ location: "l", bucket: "b", key: "k", etag: '"e"' }));
    const parts = [
      { PartNumber: 1, ETag: '"aaa"', ChecksumCRC32: "AAAAAA==" },
      { PartNumber: 2, ETag: "bbb" },
      { PartNumber: 10000, ETag: '"ccc"', ChecksumSHA256: "c2hhMjU2" },
    ];
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: "b",
        Key: "k",
        UploadId: "u",
        MultipartUpload: { Parts: parts },
      }),
    );
    expect(parseCompleteMultipartUpload(lastBody()).parts).toEqual([
      { partNumber: 1, etag: "aaa", checksums: { crc32: "AAAAAA==" } },
      { partNumber: 2, etag: "bbb", checksums: {} },
      { partNumber: 10000, etag: "ccc", checksums: { sha256: "c2hhMjU2" } },
    ]);
  });

  it("Delete (multi-object delete) with every odd key, exactly, and Quiet", async () => {
    reply = xml(deleteResultXml({ deleted: [], errors: [] }));
    const keys = XML_KEYS;
    await client.send(
      new DeleteObjectsCommand({
        Bucket: "b",
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const parsed = parseDeleteObjects(lastBody());
    expect(parsed.quiet).toBe(true);
    expect(parsed.objects.map((o) => o.key)).toEqual(keys.map((k) => k));
    await client.send(
      new DeleteObjectsCommand({ Bucket: "b", Delete: { Objects: [{ Key: "x", VersionId: "v1" }] } }),
    );
    expect(parseDeleteObjects(lastBody())).toEqual({
      quiet: false,
      objects: [{ key: "x", versionId: "v1" }],
    });
  });

  it("Tagging", async () => {
    reply = { status: 200 };
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: "b",
        Key: "k",
        Tagging: {
          TagSet: [
            { Key: "a&b", Value: "<1>" },
            { Key: "empty", Value: "" },
          ],
        },
      }),
    );
    expect(parseTagging(lastBody()).tags).toEqual([
      { key: "a&b", value: "<1>" },
      { key: "empty", value: "" },
    ]);
  });
});

describe("the XML reader refuses what it should", () => {
  const bad = (body: string, code = "MalformedXML") => {
    const e = (() => {
      try {
        parseDeleteObjects(body);
      } catch (err) {
        return err;
      }
      throw new Error(`accepted: ${body.slice(0, 80)}`);
    })();
    expect(e).toBeInstanceOf(S3Error);
    expect((e as S3Error).code).toBe(code);
  };
  const ok = "<Delete><Object><Key>k</Key></Object></Delete>";

  it("accepts a declaration, a BOM, comments, CDATA, namespaces and attributes", () => {
    const doc = `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- hi --><s3:Delete xmlns:s3="${"http://s3.amazonaws.com/doc/2006-03-01/"}" a='1'><Object><Key><![CDATA[<raw & key>]]></Key></Object><Object><Key>&#x41;&#66;&amp;</Key></Object></s3:Delete>`;
    expect(parseDeleteObjects(doc).objects.map((o) => o.key)).toEqual(["<raw & key>", "AB&"]);
    expect(parseDeleteObjects(Buffer.from(ok)).objects).toEqual([{ key: "k" }]);
  });

  it("refuses DTDs, entity declarations (billion laughs, XXE) and processing instructions", () => {
    bad(
      `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Delete><Object><Key>&lol2;</Key></Object></Delete>`,
    );
    bad(
      `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>`,
    );
    bad(`<Delete><Object><Key>&x;</Key></Object></Delete>`);
    bad(`<?xml-stylesheet href="x"?>${ok}`);
    bad(`<Delete><?pi x?><Object><Key>k</Key></Object></Delete>`);
  });

  it("refuses malformed documents", () => {
    for (const doc of [
      "",
      "   ",
      "not xml",
      "<Delete>",
      "<Delete></Deleted>",
      "<Delete><Object><Key>k</Object></Key></Delete>",
      `${ok}<Delete/>`,
      `${ok} trailing`,
      "<Delete><Object><Key>a & b</Key></Object></Delete>",
      "<Delete><Object><Key>&#0;</Key></Object></Delete>",
      "<Delete><Object><Key>&#xD800;</Key></Object></Delete>",
      "<Delete><Object><Key>\u0001</Key></Object></Delete>",
      "<Delete><Object><Key>k</Key></Object><!-- unclosed </Delete>",
      "<Delete><Object><Key><![CDATA[k</Key></Object></Delete>",
      "<Delete attr=unquoted><Object><Key>k</Key></Object></Delete>",
      "<1Delete/>",
      "<Delete></Delete>",
      "<Delete><Object/></Delete>",
      "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
      "<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>",
      "<Other><Object><Key>k</Key></Object></Other>",
    ])
      bad(doc);
    expect(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))).toThrow(S3Error);
  });

  it("bounds size, depth and element count", () => {
    bad(`<Delete>${"<a>".repeat(100)}${"</a>".repeat(100)}<Object><Key>k</Key></Object></Delete>`);
    bad(`<Delete>${"<Object><Key>k</Key></Object>".repeat(1001)}</Delete>`);
    expect(
      parseDeleteObjects(`<Delete>${"<Object><Key>k</Key></Object>".repeat(1000)}</Delete>`).objects,
    ).toHaveLength(1000);
    bad(`<Delete><Object><Key>${"x".repeat(1 << 20)}</Key></Object></Delete>`, "MaxMessageLengthExceeded");
    expect(() => parseXml(`<a>${"<b/>".repeat(200)}</a>`, { maxElements: 100 })).toThrow(S3Error);
  });

  it("CompleteMultipartUpload: ascending parts only, numbers 1-10000", () => {
    const doc = (...ns: (number | string)[]) =>
      `<CompleteMultipartUpload>${ns.map((n) => `<Part><PartNumber>${n}</PartNumber><ETag>"e${n}"</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    expect(parseCompleteMultipartUpload(doc(1, 3, 7)).parts.map((p) => p.partNumber)).toEqual([1, 3, 7]);
    const code = (d: string) => {
      try {
        parseCompleteMultipartUpload(d);
        return "accepted";
      } catch (e) {
        return (e as S3Error).code;
      }
    };
    expect(code(doc(2, 1))).toBe("InvalidPartOrder");
    expect(code(doc(1, 1))).toBe("InvalidPartOrder");
    expect(code(doc(0))).toBe("InvalidArgument");
    expect(code(doc(10001))).toBe("InvalidArgument");
    expect(code(doc("x"))).toBe("InvalidArgument");
    expect(code("<CompleteMultipartUpload/>")).toBe("MalformedXML");
    expect(
      code("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"),
    ).toBe("MalformedXML");
    const big = doc(...Array.from({ length: 10000 }, (_, i) => i + 1));
    expect(parseCompleteMultipartUpload(big).parts).toHaveLength(10000);
  });

  it("CreateBucketConfiguration, empty or with a LocationConstraint", () => {
    expect(parseCreateBucketConfiguration("")).toEqual({});
    expect(
      parseCreateBucketConfiguration(
        "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
      ),
    ).toEqual({ locationConstraint: "eu-west-1" });
    expect(() => parseCreateBucketConfiguration("<Nope/>")).toThrow(S3Error);
  });

  it("reads a body up to its limit", async () => {
    expect((await readBoundedBody([Buffer.from("ab"), Buffer.from("c")], 3)).toString()).toBe("abc");
    await expect(readBoundedBody([Buffer.from("ab"), Buffer.from("cd")], 3)).rejects.toMatchObject({
      code: "MaxMessageLengthExceeded",
    });
    await expect(readBoundedBody([], 3)).rejects.toMatchObject({ code: "MissingRequestBodyError" });
    expect((await readBoundedBody([], 3, true)).length).toBe(0);
  });
});
