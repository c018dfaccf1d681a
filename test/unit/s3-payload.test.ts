import { createHash, randomBytes } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32c } from "@aws-crypto/crc32c";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { describe, expect, it } from "vitest";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, createHasher } from "../../src/s3/checksums.js";
import { S3Error, type S3ErrorCode } from "../../src/s3/errors.js";
import { HeaderIndex } from "../../src/s3/headers.js";
import {
  type PayloadAuth,
  PayloadDecoder,
  planPayload,
  storedContentEncoding,
} from "../../src/s3/payload.js";
import { type PayloadMode, verifyRequest } from "../../src/s3/sigv4.js";
import { encodeAwsChunked } from "../helpers/aws-chunked-encode.js";
import { ACCESS_KEY, SECRET, s3Signer, signHeader } from "../helpers/s3-sign.js";

const AT = new Date(Date.UTC(2026, 4, 1, 12, 0, 0));
const lookup = async (id: string) => (id === ACCESS_KEY ? { secret: SECRET } : null);

function plainAuth(payload: PayloadMode): PayloadAuth {
  return {
    payload,
    signingKey: Buffer.alloc(32),
    amzDate: "20260501T120000Z",
    scope: "20260501/us-east-1/s3/aws4_request",
    seedSignature: "",
  };
}

async function oracle(a: ChecksumAlgorithm, data: Buffer): Promise<Buffer> {
  const out = Buffer.alloc(4);
  switch (a) {
    case "crc32":
      out.writeUInt32BE(zlibCrc32(data) >>> 0);
      return out;
    case "crc32c":
      out.writeUInt32BE(crc32c(data) >>> 0);
      return out;
    case "crc64nvme": {
      const c = new Crc64Nvme();
      c.update(data);
      return Buffer.from(await c.digest());
    }
    default:
      return createHash(a).update(data).digest();
  }
}

function split(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

async function decode(
  auth: PayloadAuth,
  headers: Record<string, string>,
  pieces: Buffer[],
  also: ChecksumAlgorithm[] = [],
) {
  const decoder = new PayloadDecoder(
    planPayload(auth, HeaderIndex.fromObject(headers), { alsoCompute: also }),
  );
  const parts: Buffer[] = [];
  for await (const b of decoder.body(pieces)) parts.push(Buffer.from(b));
  return { data: Buffer.concat(parts), result: decoder.result };
}

async function fails(p: Promise<unknown>, code?: S3ErrorCode): Promise<S3Error> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${code ?? "an S3Error"}, but the body was accepted`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(S3Error);
  if (code) expect((e as S3Error).code).toBe(code);
  return e as S3Error;
}

describe("checksums", () => {
  it("match the published check values of '123456789' and the libraries used as oracles", async () => {
    const check = Buffer.from("123456789");
    const hex = async (a: ChecksumAlgorithm) => Buffer.from(await createHasher(a).digest()).toString("hex");
    const of = async (a: ChecksumAlgorithm, d: Buffer, pieces = 1) => {
      const h = createHasher(a);
      for (const p of split(d, Math.ceil(d.length / pieces) || 1)) h.update(p);
      return Buffer.from(await h.digest());
    };
    expect((await of("crc32", check)).toString("hex")).toBe("cbf43926");
    expect((await of("crc32c", check)).toString("hex")).toBe("e3069283");
    expect((await of("crc64nvme", check)).toString("hex")).toBe("ae8b14860a799888");
    expect(await hex("crc32")).toBe("00000000");
    for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 70001]) {
      const d = randomBytes(n);
      for (const a of CHECKSUM_ALGORITHMS) {
        expect(await of(a, d), `${a} of ${n} bytes`).toEqual(await oracle(a, d));
        expect(await of(a, d, 7), `${a} of ${n} bytes in pieces`).toEqual(await oracle(a, d));
      }
    }
  });
});

describe("plain bodies (x-amz-content-sha256 = hex, UNSIGNED-PAYLOAD)", () => {
  const body = randomBytes(5000);
  const sha = createHash("sha256").update(body).digest();
  const md5 = createHash("md5").update(body).digest();

  it("checks the SHA-256 at the end and always gives the MD5", async () => {
    const { data, result } = await decode(
      plainAuth({ kind: "sha256", sha256: sha }),
      { "content-length": "5000" },
      split(body, 333),
    );
    expect(data).toEqual(body);
    expect(result.md5).toEqual(md5);
    expect(result.length).toBe(5000);
    const other = Buffer.from(body);
    other[4999]! ^= 1;
    await fails(decode(plainAuth({ kind: "sha256", sha256: sha }), {}, [other]), "XAmzContentSHA256Mismatch");
  });

  it("a body shorter than Content-Length is IncompleteBody", async () => {
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "content-length": "5001" }, [body]),
      "IncompleteBody",
    );
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "content-length": "4999" }, [body]),
      "InvalidRequest",
    );
  });

  for (const a of CHECKSUM_ALGORITHMS)
    it(`checks an x-amz-checksum-${a} header`, async () => {
      const good = (await oracle(a, body)).toString("base64");
      const { result } = await decode(plainAuth({ kind: "unsigned" }), { [`x-amz-checksum-${a}`]: good }, [
        body,
      ]);
      expect(result.declared).toBe(a);
      expect(result.checksums[a]!.toString("base64")).toBe(good);
      const bad = Buffer.from(good, "base64");
      bad[0]! ^= 1;
      await fails(
        decode(plainAuth({ kind: "unsigned" }), { [`x-amz-checksum-${a}`]: bad.toString("base64") }, [body]),
        "BadDigest",
      );
      await fails(
        decode(plainAuth({ kind: "unsigned" }), { [`x-amz-checksum-${a}`]: "not base64!" }, [body]),
        "InvalidRequest",
      );
      await fails(
        decode(plainAuth({ kind: "unsigned" }), { [`x-amz-checksum-${a}`]: "AAAA" }, [body]),
        "InvalidRequest",
      );
    });

  it("refuses two checksum headers, and an unknown one", async () => {
    const crc = (await oracle("crc32", body)).toString("base64");
    const sha1 = (await oracle("sha1", body)).toString("base64");
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "x-amz-checksum-crc32": crc, "x-amz-checksum-sha1": sha1 }, [
        body,
      ]),
      "InvalidRequest",
    );
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "x-amz-checksum-md4": crc }, [body]),
      "InvalidRequest",
    );
  });

  it("checks Content-MD5: mismatch is BadDigest, malformed is InvalidDigest", async () => {
    await decode(plainAuth({ kind: "unsigned" }), { "content-md5": md5.toString("base64") }, [body]);
    const bad = Buffer.from(md5);
    bad[3]! ^= 1;
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "content-md5": bad.toString("base64") }, [body]),
      "BadDigest",
    );
    await fails(decode(plainAuth({ kind: "unsigned" }), { "content-md5": "abc" }, [body]), "InvalidDigest");
    await fails(
      decode(plainAuth({ kind: "unsigned" }), { "content-md5": md5.toString("hex") }, [body]),
      "InvalidDigest",
    );
  });

  it("can leave the MD5 out, unless Content-MD5 asks for it", async () => {
    const { result } = await decode(plainAuth({ kind: "unsigned" }), {}, [body]);
    expect(result.md5).toEqual(md5);
    const none = new PayloadDecoder(
      planPayload(plainAuth({ kind: "unsigned" }), HeaderIndex.fromObject({}), { md5: false }),
    );
    for await (const _ of none.body([body]));
    expect(none.result.md5).toBeUndefined();
    const asked = new PayloadDecoder(
      planPayload(
        plainAuth({ kind: "unsigned" }),
        HeaderIndex.fromObject({ "content-md5": md5.toString("base64") }),
        { md5: false },
      ),
    );
    for await (const _ of asked.body([body]));
    expect(asked.result.md5).toEqual(md5);
  });

  it("computes what the caller asks for and x-amz-sdk-checksum-algorithm", async () => {
    const { result } = await decode(
      plainAuth({ kind: "unsigned" }),
      { "x-amz-sdk-checksum-algorithm": "CRC32C" },
      [body],
      ["crc64nvme"],
    );
    expect(result.checksums.crc32c).toEqual(await oracle("crc32c", body));
    expect(result.checksums.crc64nvme).toEqual(await oracle("crc64nvme", body));
    expect(result.declared).toBeUndefined();
    expect(() =>
      planPayload(
        plainAuth({ kind: "unsigned" }),
        HeaderIndex.fromObject({ "x-amz-sdk-checksum-algorithm": "MD5" }),
      ),
    ).toThrow(S3Error);
  });

  it("refuses a trailer or a decoded length without aws-chunked", async () => {
    expect(() =>
      planPayload(
        plainAuth({ kind: "unsigned" }),
        HeaderIndex.fromObject({ "x-amz-trailer": "x-amz-checksum-crc32" }),
      ),
    ).toThrow(S3Error);
    expect(() =>
      planPayload(
        plainAuth({ kind: "unsigned" }),
        HeaderIndex.fromObject({ "x-amz-decoded-content-length": "5" }),
      ),
    ).toThrow(S3Error);
    expect(() =>
      planPayload(plainAuth({ kind: "unsigned" }), HeaderIndex.fromObject({ "content-length": "-1" })),
    ).toThrow(S3Error);
  });

  it("keeps Content-Encoding but drops aws-chunked from it", () => {
    expect(
      storedContentEncoding(HeaderIndex.fromObject({ "content-encoding": "aws-chunked" })),
    ).toBeUndefined();
    expect(storedContentEncoding(HeaderIndex.fromObject({ "content-encoding": "aws-chunked,gzip" }))).toBe(
      "gzip",
    );
    expect(storedContentEncoding(HeaderIndex.fromObject({ "content-encoding": "gzip" }))).toBe("gzip");
  });
});

describe("STREAMING-UNSIGNED-PAYLOAD-TRAILER", () => {
  const mode: PayloadMode = { kind: "streaming-unsigned-trailer" };
  const data = randomBytes(150_000);

  for (const a of CHECKSUM_ALGORITHMS)
    it(`decodes and checks an x-amz-checksum-${a} trailer`, async () => {
      const value = (await oracle(a, data)).toString("base64");
      const wire = await encodeAwsChunked(data, { trailers: [[`x-amz-checksum-${a}`, value]] });
      const headers = {
        "x-amz-trailer": `x-amz-checksum-${a}`,
        "x-amz-decoded-content-length": String(data.length),
      };
      const { data: out, result } = await decode(plainAuth(mode), headers, [wire]);
      expect(out).toEqual(data);
      expect(result.declared).toBe(a);
      expect(result.md5).toEqual(createHash("md5").update(data).digest());
      const bad = Buffer.from(value, "base64");
      bad[bad.length - 1]! ^= 1;
      const badWire = await encodeAwsChunked(data, {
        trailers: [[`x-amz-checksum-${a}`, bad.toString("base64")]],
      });
      await fails(decode(plainAuth(mode), headers, [badWire]), "BadDigest");
    });

  const small = Buffer.from("hello, aws-chunked world");
  const headers = {
    "x-amz-trailer": "x-amz-checksum-crc32",
    "x-amz-decoded-content-length": String(small.length),
  };
  const wire = async (opts: Parameters<typeof encodeAwsChunked>[1] = {}) =>
    encodeAwsChunked(small, {
      chunkSizes: [10],
      trailers: [["x-amz-checksum-crc32", (await oracle("crc32", small)).toString("base64")]],
      ...opts,
    });

  it("decodes identically whatever the pieces (1 byte, 2, 3, … bytes at a time)", async () => {
    const w = await wire();
    for (let size = 1; size <= w.length; size++) {
      const { data: out } = await decode(plainAuth(mode), headers, split(w, size));
      expect(out).toEqual(small);
    }
  });

  it("fails on any one changed byte of the body", async () => {
    const w = await wire();
    for (let i = 0; i < w.length; i++) {
      const bad = Buffer.from(w);
      bad[i]! ^= 1;
      await fails(decode(plainAuth(mode), headers, [bad]));
    }
  });

  it("tolerates a missing final empty line, but not a missing trailer, an unannounced one or a signature", async () => {
    await decode(plainAuth(mode), headers, [await wire({ noFinalCrlf: true })]);
    await fails(decode(plainAuth(mode), headers, [await wire({ trailers: [] })]), "MalformedTrailerError");
    const both = await wire({
      trailers: [
        ["x-amz-checksum-crc32", (await oracle("crc32", small)).toString("base64")],
        ["x-amz-checksum-sha1", (await oracle("sha1", small)).toString("base64")],
      ],
    });
    await fails(decode(plainAuth(mode), headers, [both]), "MalformedTrailerError");
    const signed = Buffer.concat([
      await wire({ noFinalCrlf: true }),
      Buffer.from(`x-amz-trailer-signature:${"0".repeat(64)}\r\n\r\n`),
    ]);
    await fails(decode(plainAuth(mode), headers, [signed]), "MalformedTrailerError");
  });

  it("checks x-amz-decoded-content-length both ways", async () => {
    const w = await wire();
    await fails(
      decode(plainAuth(mode), { ...headers, "x-amz-decoded-content-length": String(small.length + 1) }, [w]),
      "IncompleteBody",
    );
    await fails(
      decode(plainAuth(mode), { ...headers, "x-amz-decoded-content-length": String(small.length - 1) }, [w]),
      "InvalidRequest",
    );
    const { data: out } = await decode(plainAuth(mode), { "x-amz-trailer": "x-amz-checksum-crc32" }, [w]);
    expect(out).toEqual(small);
  });

  it("a truncated body is IncompleteBody at every cut; bytes after the end are refused", async () => {
    const w = await wire();
    for (let cut = 0; cut < w.length - 2; cut++)
      await fails(decode(plainAuth(mode), headers, [w.subarray(0, cut)]));
    await fails(decode(plainAuth(mode), headers, [w, Buffer.from("x")]), "InvalidRequest");
  });

  it("bounds the lines it holds: a chunk header and a trailer", async () => {
    const longHeader = Buffer.concat([Buffer.from("1"), Buffer.alloc(5000, "0".charCodeAt(0))]);
    const e = await fails(decode(plainAuth(mode), {}, split(longHeader, 100)), "InvalidRequest");
    expect(e.message).toMatch(/too long/);
    const hugeTrailer = Buffer.concat([
      Buffer.from("0\r\nx-amz-checksum-crc32:"),
      Buffer.alloc(20_000, "A".charCodeAt(0)),
    ]);
    await fails(decode(plainAuth(mode), headers, split(hugeTrailer, 1000)), "MalformedTrailerError");
  });

  it("refuses signatures in unsigned chunks and malformed sizes", async () => {
    for (const bad of [
      "zz\r\n",
      "-1\r\n",
      "1 \r\n",
      `1;chunk-signature=${"0".repeat(64)}\r\nx\r\n0\r\n\r\n`,
      "10000000000000000\r\n",
      "5\nhello",
    ])
      await fails(decode(plainAuth(mode), {}, [Buffer.from(bad)]));
  });

  it("decodes a large body in bounded pieces (a sanity run, not a timing)", async () => {
    const piece = randomBytes(1 << 20);
    const total = 64;
    const md5 = createHash("md5");
    for (let i = 0; i < total; i++) md5.update(piece);
    async function* source() {
      // What the SDK writes: 64 KiB chunks, then the trailer.
      const header = Buffer.from(`${(65536).toString(16)}\r\n`);
      const crlf = Buffer.from("\r\n");
      for (let i = 0; i < total; i++)
        for (let at = 0; at < piece.length; at += 65536)
          yield Buffer.concat([header, piece.subarray(at, at + 65536), crlf]);
      yield Buffer.from("0\r\n\r\n");
    }
    const decoder = new PayloadDecoder(
      planPayload(
        plainAuth(mode),
        HeaderIndex.fromObject({ "x-amz-decoded-content-length": String(total << 20) }),
      ),
    );
    let n = 0;
    for await (const b of decoder.body(source())) n += b.length;
    expect(n).toBe(total << 20);
    expect(decoder.result.md5).toEqual(md5.digest());
  });
});

async function signedContext(payloadHash: string, extra: Record<string, string>) {
  const input = await signHeader(
    { method: "PUT", path: "/bucket/key", headers: { "content-encoding": "aws-chunked", ...extra } },
    { signingDate: AT, payloadHash },
  );
  const v = await verifyRequest(input, { lookup, now: AT.getTime() });
  return { v, headers: extra, signing: { signer: s3Signer(), signingDate: AT, seed: v.seedSignature } };
}

describe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD (every chunk signed)", () => {
  const data = randomBytes(70_000);

  it("decodes a body whose chunk signatures chain from the request's", async () => {
    const { v, headers, signing } = await signedContext("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", {
      "x-amz-decoded-content-length": "70000",
    });
    const wire = await encodeAwsChunked(data, { signing, chunkSizes: [65536] });
    const { data: out } = await decode(v, headers, [wire]);
    expect(out).toEqual(data);
    const { data: again } = await decode(v, headers, split(wire, 4093));
    expect(again).toEqual(data);
  });

  it("fails on any changed byte, in the data, a size, a signature or the framing", async () => {
    const small = Buffer.from("signed chunks, small enough to flip every byte");
    const { v, signing } = await signedContext("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", {});
    const wire = await encodeAwsChunked(small, { signing, chunkSizes: [16] });
    await decode(v, {}, split(wire, 1));
    for (let i = 0; i < wire.length - 2; i++) {
      const bad = Buffer.from(wire);
      bad[i]! ^= 1;
      await fails(decode(v, {}, [bad]));
    }
  });

  it("fails when chunks are reordered, dropped, or signed from another seed", async () => {
    const { v, signing } = await signedContext("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", {});
    const parts = [Buffer.from("AAAA"), Buffer.from("BBBB")];
    const one = await encodeAwsChunked(Buffer.concat(parts), { signing, chunkSizes: [4] });
    const text = one.toString("latin1");
    const [c1, c2, rest] = text
      .split(/(?=\r\n[0-9a-f]+;chunk-signature)/)
      .map((s, i) => (i === 0 ? s : s.slice(2)));
    const swapped = Buffer.from(`${c2}\r\n${c1}\r\n${rest}`, "latin1");
    await fails(decode(v, {}, [swapped]), "SignatureDoesNotMatch");
    const dropped = Buffer.from(`${c1}\r\n${rest}`, "latin1");
    await fails(decode(v, {}, [dropped]), "SignatureDoesNotMatch");
    const otherSeed = await encodeAwsChunked(Buffer.concat(parts), {
      signing: { ...signing, seed: "0".repeat(64) },
      chunkSizes: [4],
    });
    await fails(decode(v, {}, [otherSeed]), "SignatureDoesNotMatch");
    const unsigned = await encodeAwsChunked(Buffer.concat(parts), { chunkSizes: [4] });
    await fails(decode(v, {}, [unsigned]), "InvalidRequest");
  });

  it("verifies AWS's published example (66560 bytes of 'a', 64 KiB chunks)", async () => {
    const awsLookup = async () => ({ secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" });
    const headers = {
      Host: "s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      Authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "Content-Encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "Content-Length": "66824",
    };
    const index = HeaderIndex.fromObject(headers);
    const v = await verifyRequest(
      { method: "PUT", rawPath: "/examplebucket/chunkObject.txt", rawQuery: "", headers: index },
      { lookup: awsLookup, now: Date.UTC(2013, 4, 24) },
    );
    const a = (n: number) => Buffer.alloc(n, "a");
    const wire = Buffer.concat([
      Buffer.from(
        "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
      ),
      a(65536),
      Buffer.from(
        "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
      ),
      a(1024),
      Buffer.from(
        "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
      ),
    ]);
    expect(wire.length).toBe(66824);
    const decoder = new PayloadDecoder(planPayload(v, index));
    let n = 0;
    for await (const b of decoder.body([wire])) n += b.length;
    expect(n).toBe(66560);
  });
});

describe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (signed chunks and a signed trailer)", () => {
  const data = randomBytes(3000);

  it("decodes and checks the trailer's signature and checksum", async () => {
    const crc = (await oracle("crc32c", data)).toString("base64");
    const headers = { "x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-decoded-content-length": "3000" };
    const { v, signing } = await signedContext("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", headers);
    const wire = await encodeAwsChunked(data, {
      signing,
      chunkSizes: [1024],
      trailers: [["x-amz-checksum-crc32c", crc]],
      signedTrailer: true,
    });
    const { data: out, result } = await decode(v, headers, split(wire, 1));
    expect(out).toEqual(data);
    expect(result.checksums.crc32c!.toString("base64")).toBe(crc);
    // Any one changed byte, including in the trailer and its signature, fails.
    for (let i = 0; i < wire.length - 2; i++) {
      const bad = Buffer.from(wire);
      bad[i]! ^= 1;
      await fails(decode(v, headers, [bad]));
    }
    const unsignedTrailer = await encodeAwsChunked(data, {
      signing,
      chunkSizes: [1024],
      trailers: [["x-amz-checksum-crc32c", crc]],
    });
    await fails(decode(v, headers, [unsignedTrailer]), "MalformedTrailerError");
  });

  it("verifies AWS's published trailer example (seed, chunk and trailer signatures)", async () => {
    const seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const auth: PayloadAuth = {
      payload: { kind: "streaming-signed", trailer: true },
      signingKey: (await import("../../src/s3/signing-key.js")).deriveSigningKey(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "20130524",
        "us-east-1",
      ),
      amzDate: "20130524T000000Z",
      scope: "20130524/us-east-1/s3/aws4_request",
      seedSignature: seed,
    };
    const a = (n: number) => Buffer.alloc(n, "a");
    const wire = Buffer.concat([
      Buffer.from(
        "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n",
      ),
      a(65536),
      Buffer.from(
        "\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n",
      ),
      a(1024),
      Buffer.from(
        "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n",
      ),
      Buffer.from(
        "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n",
      ),
    ]);
    const { data: out, result } = await decode(
      auth,
      { "x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-decoded-content-length": "66560" },
      [wire],
    );
    expect(out.length).toBe(66560);
    expect(result.checksums.crc32c!.toString("base64")).toBe("sOO8/Q==");
  });
});
