import { describe, expect, it } from "vitest";
import { S3Error, type S3ErrorCode } from "../../src/s3/errors.js";
import { HeaderIndex } from "../../src/s3/headers.js";
import { SigningKeyCache } from "../../src/s3/signing-key.js";
import { type S3RequestInput, verifyRequest } from "../../src/s3/sigv4.js";
import {
  ACCESS_KEY,
  presign,
  S3_KEY_ODDITIES,
  SECRET,
  s3Path,
  s3Signer,
  signHeader,
} from "../helpers/s3-sign.js";

const lookup = async (id: string) => (id === ACCESS_KEY ? { secret: SECRET, owner: "alice" } : null);
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const AT = new Date(NOW);

async function verify(input: S3RequestInput, now = NOW) {
  return verifyRequest(input, { lookup, now });
}

async function rejects(p: Promise<unknown>, code: S3ErrorCode): Promise<S3Error> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${code}, but the request verified`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(S3Error);
  expect((e as S3Error).code).toBe(code);
  return e as S3Error;
}

function rawPairs(h: HeaderIndex): [string, string][] {
  return [...h.names()].map((n) => [n, h.get(n)!]);
}

function withHeader(input: S3RequestInput, name: string, value: string | undefined): S3RequestInput {
  const pairs = rawPairs(input.headers).filter(([n]) => n !== name);
  if (value !== undefined) pairs.push([name, value]);
  return { ...input, headers: new HeaderIndex(pairs.flat()) };
}

/** Every way to change one character of a string that still leaves a string we could receive. */
function flips(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out.push(s.slice(0, i) + String.fromCharCode(c ^ 1) + s.slice(i + 1));
  }
  return out;
}

const QUERIES: Record<string, Record<string, string | string[]>> = {
  none: {},
  uploads: { uploads: "" },
  part: { partNumber: "3", uploadId: "2~Abc-_.xyz/+=" },
  list: { "list-type": "2", prefix: "a/b c+d%é", "continuation-token": "tok+/=", delimiter: "/" },
  repeated: { tag: ["b", "a", "a b"], "": "x" },
  overrides: {
    "response-content-disposition": 'attachment; filename="x y.txt"',
    "response-content-type": "text/plain",
  },
};

describe("SigV4 in the Authorization header, signed by @smithy/signature-v4", () => {
  for (const method of ["GET", "PUT", "HEAD", "DELETE", "POST"])
    for (const [qname, query] of Object.entries(QUERIES))
      it(`verifies ${method} with query '${qname}'`, async () => {
        const input = await signHeader(
          {
            method,
            path: s3Path("bucket", "dir/obj.bin"),
            query,
            headers: { "x-amz-meta-colour": "  blue   and  green " },
          },
          { signingDate: AT },
        );
        const v = await verify(input);
        expect(v.accessKeyId).toBe(ACCESS_KEY);
        expect(v.key.owner).toBe("alice");
        expect(v.region).toBe("us-east-1");
        expect(v.scope).toBe("20260501/us-east-1/s3/aws4_request");
        expect(v.presigned).toBe(false);
        expect(v.payload).toEqual({
          kind: "sha256",
          sha256: Buffer.from("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
        });
      });

  for (const key of S3_KEY_ODDITIES)
    it(`verifies the key ${JSON.stringify(key)}`, async () => {
      const input = await signHeader({ method: "PUT", path: s3Path("bucket", key) }, { signingDate: AT });
      await expect(verify(input)).resolves.toMatchObject({ accessKeyId: ACCESS_KEY });
    });

  it("accepts a signer that canonicalises its own looser encoding of the path and query, as sent", async () => {
    // Some signers sign the URL exactly as they send it ("+", "!", "%7E" unescaped or over-escaped).
    for (const path of ["/b/a+b!c", "/b/%7Etilde", "/b/x'y(z)*"]) {
      const input = await signHeader({ method: "GET", path }, { signingDate: AT });
      await verify(input);
    }
    const loose = await signHeader({ method: "GET", path: "/b/k" }, { signingDate: AT });
    await verify(loose);
  });

  it("accepts a client that sends a loose URL but signs its RFC 3986 form", async () => {
    const input = await signHeader(
      { method: "GET", path: "/b/a%21b%28%29", query: { prefix: "a b" } },
      { signingDate: AT },
    );
    await verify({ ...input, rawPath: "/b/a!b()", rawQuery: "prefix=a+b" });
  });

  it("accepts any region, as long as the signature was made for it", async () => {
    const input = await signHeader(
      { method: "GET", path: "/b/k" },
      { signingDate: AT, signer: s3Signer("garage") },
    );
    expect((await verify(input)).region).toBe("garage");
    const lying = {
      ...input,
      headers: new HeaderIndex(
        rawPairs(input.headers).flatMap(([n, v]) => [
          n,
          n === "authorization" ? v.replace("/garage/", "/us-east-1/") : v,
        ]),
      ),
    };
    await rejects(verify(lying), "SignatureDoesNotMatch");
  });

  it("fails on one changed character anywhere: method, path, query, signed header, signature", async () => {
    const input = await signHeader(
      {
        method: "PUT",
        path: s3Path("bucket", "a b/c"),
        query: { partNumber: "1", uploadId: "u-1" },
        headers: { "x-amz-meta-a": "b" },
      },
      { signingDate: AT },
    );
    await verify(input);
    await rejects(verify({ ...input, method: "POST" }), "SignatureDoesNotMatch");
    for (const rawPath of flips(input.rawPath)) {
      const e = await verify({ ...input, rawPath }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(S3Error);
    }
    for (const rawQuery of flips(input.rawQuery)) {
      const e = await verify({ ...input, rawQuery }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(S3Error);
    }
    for (const name of input.headers.names()) {
      for (const value of flips(input.headers.get(name)!)) {
        const e = await verify(withHeader(input, name, value)).catch((err: unknown) => err);
        expect(e, `${name}: ${value}`).toBeInstanceOf(S3Error);
      }
    }
  });

  it("refuses an x-amz-* header added after signing (it would steer the request)", async () => {
    const input = await signHeader({ method: "PUT", path: "/b/k" }, { signingDate: AT });
    const e = await rejects(verify(withHeader(input, "x-amz-copy-source", "/b/secret")), "AccessDenied");
    expect(e.fields.HeadersNotSigned).toBe("x-amz-copy-source");
    // An unsigned ordinary header is the client's business (user-agent, content-type with minio-go…).
    await verify(withHeader(input, "user-agent", "whatever"));
  });

  it("checks the clock: 15 minutes of skew either way, then RequestTimeTooSkewed", async () => {
    const input = await signHeader({ method: "GET", path: "/b/k" }, { signingDate: AT });
    await verify(input, NOW + 14 * 60_000);
    await verify(input, NOW - 14 * 60_000);
    const e = await rejects(verify(input, NOW + 16 * 60_000), "RequestTimeTooSkewed");
    expect(e.status).toBe(403);
    expect(e.fields.RequestTime).toBe("20260501T120000Z");
    await rejects(verify(input, NOW - 16 * 60_000), "RequestTimeTooSkewed");
  });

  it("an unknown access key is InvalidAccessKeyId; a wrong secret is SignatureDoesNotMatch", async () => {
    const other = await signHeader(
      { method: "GET", path: "/b/k" },
      { signingDate: AT, signer: s3Signer("us-east-1", SECRET, "AKIDUNKNOWN") },
    );
    await rejects(verify(other), "InvalidAccessKeyId");
    const wrong = await signHeader(
      { method: "GET", path: "/b/k" },
      { signingDate: AT, signer: s3Signer("us-east-1", "not-the-secret") },
    );
    const e = await rejects(verify(wrong), "SignatureDoesNotMatch");
    expect(e.message).not.toContain(SECRET);
    expect(JSON.stringify(e.fields)).not.toContain(SECRET);
  });

  it("reads every x-amz-content-sha256 mode", async () => {
    const modes = {
      "UNSIGNED-PAYLOAD": { kind: "unsigned" },
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": { kind: "streaming-signed", trailer: false },
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": { kind: "streaming-signed", trailer: true },
      "STREAMING-UNSIGNED-PAYLOAD-TRAILER": { kind: "streaming-unsigned-trailer" },
    };
    for (const [payloadHash, mode] of Object.entries(modes)) {
      const input = await signHeader({ method: "PUT", path: "/b/k" }, { signingDate: AT, payloadHash });
      expect((await verify(input)).payload).toEqual(mode);
    }
    const bogus = await signHeader(
      { method: "PUT", path: "/b/k" },
      { signingDate: AT, payloadHash: "STREAMING-SOMETHING" },
    );
    await rejects(verify(bogus), "InvalidArgument");
  });

  it("treats a missing x-amz-content-sha256 as the hash of an empty body", async () => {
    const input = await signHeader({ method: "GET", path: "/b/k" }, { signingDate: AT });
    expect(input.headers.get("x-amz-content-sha256")).toBeDefined();
  });

  it("caches signing keys in a bounded LRU and never serves a stale one for a replaced secret", async () => {
    const cache = new SigningKeyCache(2);
    const input = await signHeader({ method: "GET", path: "/b/k" }, { signingDate: AT });
    await verifyRequest(input, { lookup, now: NOW, keyCache: cache });
    await verifyRequest(input, { lookup, now: NOW, keyCache: cache });
    expect(cache.size).toBe(1);
    const rotated = async () => ({ secret: "a-new-secret" });
    await rejects(
      verifyRequest(input, { lookup: rotated, now: NOW, keyCache: cache }),
      "SignatureDoesNotMatch",
    );
    cache.get("x", "20260101", "r1");
    cache.get("y", "20260101", "r1");
    expect(cache.size).toBe(2);
  });
});

describe("SigV4 presigned URLs, made by @aws-sdk/s3-request-presigner", () => {
  for (const method of ["GET", "PUT", "HEAD", "DELETE"])
    it(`verifies a presigned ${method}`, async () => {
      const input = await presign(
        { method, path: s3Path("bucket", "photos/été 2026 (1).jpg") },
        { signingDate: AT, expiresIn: 3600 },
      );
      const v = await verify(input);
      expect(v.presigned).toBe(true);
      expect(v.payload).toEqual({ kind: "unsigned" });
      expect(v.expiresAt).toBe(NOW + 3600_000);
    });

  for (const key of S3_KEY_ODDITIES)
    it(`verifies a presigned GET of ${JSON.stringify(key)} with response overrides`, async () => {
      const input = await presign(
        { method: "GET", path: s3Path("bucket", key), query: QUERIES.overrides },
        { signingDate: AT },
      );
      await verify(input);
    });

  it("exposes the presigner's hoisted x-amz-* parameters as headers", async () => {
    const input = await presign(
      {
        method: "PUT",
        path: "/b/k",
        headers: { "x-amz-meta-owner": "bob", "x-amz-checksum-crc32": "AAAAAA==" },
      },
      { signingDate: AT },
    );
    expect(input.headers.get("x-amz-meta-owner")).toBeUndefined();
    const v = await verify(input);
    expect(v.headers.get("x-amz-meta-owner")).toBe("bob");
    expect(v.headers.get("x-amz-checksum-crc32")).toBe("AAAAAA==");
  });

  it("expires: AccessDenied 'Request has expired' after X-Amz-Expires, and refuses a URL from the future", async () => {
    const input = await presign({ method: "GET", path: "/b/k" }, { signingDate: AT, expiresIn: 60 });
    await verify(input, NOW + 60_000);
    const e = await rejects(verify(input, NOW + 61_000), "AccessDenied");
    expect(e.message).toBe("Request has expired");
    expect(e.fields["X-Amz-Expires"]).toBe("60");
    await verify(input, NOW - 14 * 60_000);
    await rejects(verify(input, NOW - 16 * 60_000), "AccessDenied");
  });

  it("allows X-Amz-Expires up to 604800 and no more", async () => {
    const week = await presign({ method: "GET", path: "/b/k" }, { signingDate: AT, expiresIn: 604800 });
    await verify(week, NOW + 604799_000);
    const tooLong = {
      ...week,
      rawQuery: week.rawQuery.replace("X-Amz-Expires=604800", "X-Amz-Expires=604801"),
    };
    await rejects(verify(tooLong), "AuthorizationQueryParametersError");
    const negative = { ...week, rawQuery: week.rawQuery.replace("X-Amz-Expires=604800", "X-Amz-Expires=-1") };
    await rejects(verify(negative), "AuthorizationQueryParametersError");
  });

  it("fails on one changed character anywhere in the URL", async () => {
    const input = await presign(
      { method: "GET", path: s3Path("bucket", "a+b c"), query: { "response-content-type": "text/plain" } },
      { signingDate: AT },
    );
    for (const rawQuery of flips(input.rawQuery)) {
      const e = await verify({ ...input, rawQuery }).catch((err: unknown) => err);
      expect(e, rawQuery).toBeInstanceOf(S3Error);
    }
    for (const rawPath of flips(input.rawPath)) {
      const e = await verify({ ...input, rawPath }).catch((err: unknown) => err);
      expect(e, rawPath).toBeInstanceOf(S3Error);
    }
    await rejects(verify({ ...input, method: "PUT" }), "SignatureDoesNotMatch");
    await rejects(verify({ ...input, rawQuery: `${input.rawQuery}&x-id=extra` }), "SignatureDoesNotMatch");
  });

  it("refuses missing, repeated and malformed parameters with AuthorizationQueryParametersError", async () => {
    const input = await presign({ method: "GET", path: "/b/k" }, { signingDate: AT });
    for (const name of [
      "X-Amz-Credential",
      "X-Amz-Date",
      "X-Amz-Expires",
      "X-Amz-SignedHeaders",
      "X-Amz-Signature",
    ]) {
      const rawQuery = input.rawQuery
        .split("&")
        .filter((p) => !p.startsWith(`${name}=`))
        .join("&");
      await rejects(verify({ ...input, rawQuery }), "AuthorizationQueryParametersError");
    }
    const twice = input.rawQuery.split("&").find((p) => p.startsWith("X-Amz-Date="))!;
    await rejects(
      verify({ ...input, rawQuery: `${input.rawQuery}&${twice}` }),
      "AuthorizationQueryParametersError",
    );
    await rejects(
      verify({
        ...input,
        rawQuery: input.rawQuery.replace(
          "X-Amz-Algorithm=AWS4-HMAC-SHA256",
          "X-Amz-Algorithm=AWS4-HMAC-SHA1",
        ),
      }),
      "AuthorizationQueryParametersError",
    );
  });

  it("refuses session tokens and an Authorization header alongside", async () => {
    const input = await presign({ method: "GET", path: "/b/k" }, { signingDate: AT });
    await rejects(
      verify({ ...input, rawQuery: `${input.rawQuery}&X-Amz-Security-Token=abc` }),
      "InvalidToken",
    );
    await rejects(
      verify(withHeader(input, "authorization", "AWS4-HMAC-SHA256 Credential=x")),
      "InvalidArgument",
    );
  });
});

describe("requests that are not SigV4", () => {
  const base: S3RequestInput = {
    method: "GET",
    rawPath: "/b/k",
    rawQuery: "",
    headers: new HeaderIndex(["Host", "localhost:9000"]),
  };

  it("anonymous → AccessDenied", async () => {
    const e = await rejects(verify(base), "AccessDenied");
    expect(e.message).toMatch(/Anonymous/);
  });

  it("a SigV2 header → AccessDenied naming AWS4-HMAC-SHA256 (SigV2 presigned URLs: s3-sigv2.test.ts)", async () => {
    const e = await rejects(
      verify(withHeader(base, "authorization", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")),
      "AccessDenied",
    );
    expect(e.message).toContain("AWS4-HMAC-SHA256");
  });

  it("SigV4a → AccessDenied; an unknown scheme → InvalidArgument", async () => {
    await rejects(
      verify(withHeader(base, "authorization", "AWS4-ECDSA-P256-SHA256 Credential=x")),
      "AccessDenied",
    );
    await rejects(verify(withHeader(base, "authorization", "Bearer abc")), "InvalidArgument");
  });

  it("x-amz-security-token header → InvalidToken", async () => {
    const input = await signHeader(
      { method: "GET", path: "/b/k", headers: { "x-amz-security-token": "tok" } },
      { signingDate: AT },
    );
    await rejects(verify(input), "InvalidToken");
  });

  const MALFORMED = [
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 ",
    "AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host",
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(63)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/2026050/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20261341/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host;Host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host;host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}, Extra=1`,
    `AWS4-HMAC-SHA256 Credential=AKID/20260501/\u0000/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
  ];
  for (const value of MALFORMED)
    it(`malformed Authorization ${JSON.stringify(value.slice(0, 90))} → AuthorizationHeaderMalformed`, async () => {
      const input = withHeader(withHeader(base, "x-amz-date", "20260501T120000Z"), "authorization", value);
      await rejects(verify(input), "AuthorizationHeaderMalformed");
    });

  it("a credential date that is not X-Amz-Date's date → AuthorizationHeaderMalformed", async () => {
    const sig = "0".repeat(64);
    const input = withHeader(
      withHeader(base, "x-amz-date", "20260501T120000Z"),
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20260430/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`,
    );
    await rejects(verify(input), "AuthorizationHeaderMalformed");
  });

  it("no usable date → AccessDenied", async () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20260501/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;
    await rejects(verify(withHeader(base, "authorization", auth)), "AccessDenied");
    await rejects(
      verify(withHeader(withHeader(base, "x-amz-date", "20260501T250000Z"), "authorization", auth)),
      "AccessDenied",
    );
    await rejects(
      verify(withHeader(withHeader(base, "date", "not a date"), "authorization", auth)),
      "AccessDenied",
    );
  });

  it("a malformed percent-escape in the path → InvalidURI", async () => {
    const input = await signHeader({ method: "GET", path: "/b/k" }, { signingDate: AT });
    await rejects(verify({ ...input, rawPath: "/b/%zz" }), "InvalidURI");
    await rejects(verify({ ...input, rawPath: "/b/%C3" }), "InvalidURI");
  });
});

// The examples of AWS's "Signature Calculations for the Authorization Header" and "Query String
// Authentication" pages: fixed inputs, their published signatures.
describe("AWS's published SigV4 examples for S3", () => {
  const awsLookup = async (id: string) =>
    id === "AKIAIOSFODNN7EXAMPLE" ? { secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } : null;
  const at = Date.UTC(2013, 4, 24);
  const hdrs = (pairs: Record<string, string>) => HeaderIndex.fromObject(pairs);
  const auth = (signed: string, sig: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${sig}`;

  it("GET Object with a Range", async () => {
    const input: S3RequestInput = {
      method: "GET",
      rawPath: "/test.txt",
      rawQuery: "",
      headers: hdrs({
        Host: "examplebucket.s3.amazonaws.com",
        Range: "bytes=0-9",
        "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date": "20130524T000000Z",
        Authorization: auth(
          "host;range;x-amz-content-sha256;x-amz-date",
          "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
      }),
    };
    await verifyRequest(input, { lookup: awsLookup, now: at });
  });

  it("PUT Object with a Date header, a '$' in the key and a storage class", async () => {
    const input: S3RequestInput = {
      method: "PUT",
      rawPath: "/test%24file.text",
      rawQuery: "",
      headers: hdrs({
        Host: "examplebucket.s3.amazonaws.com",
        Date: "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        Authorization: auth(
          "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
          "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
      }),
    };
    await verifyRequest(input, { lookup: awsLookup, now: at });
  });

  for (const [rawQuery, sig] of [
    ["lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"],
    ["max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"],
  ] as const)
    it(`GET bucket ?${rawQuery}`, async () => {
      const input: S3RequestInput = {
        method: "GET",
        rawPath: "/",
        rawQuery,
        headers: hdrs({
          Host: "examplebucket.s3.amazonaws.com",
          "x-amz-date": "20130524T000000Z",
          "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          Authorization: auth("host;x-amz-content-sha256;x-amz-date", sig),
        }),
      };
      await verifyRequest(input, { lookup: awsLookup, now: at });
    });

  it("a presigned GET valid for a day", async () => {
    const input: S3RequestInput = {
      method: "GET",
      rawPath: "/test.txt",
      rawQuery:
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
      headers: hdrs({ Host: "examplebucket.s3.amazonaws.com" }),
    };
    const v = await verifyRequest(input, { lookup: awsLookup, now: at + 3600_000 });
    expect(v.payload).toEqual({ kind: "unsigned" });
    await rejects(verifyRequest(input, { lookup: awsLookup, now: at + 86401_000 }), "AccessDenied");
  });
});
