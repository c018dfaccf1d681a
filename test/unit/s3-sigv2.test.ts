// SigV2 presigned URLs (AWSAccessKeyId, Expires, Signature), as boto3's generate_presigned_url,
// aws-cli v1's `s3 presign` and s3cmd's `signurl` make them by default: the URLs those tools made
// (test/fixtures/s3-wire/sigv2-presigned.py) must verify, and one changed character must not.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { S3Error, type S3ErrorCode } from "../../src/s3/errors.js";
import { HeaderIndex } from "../../src/s3/headers.js";
import { type S3RequestInput, verifyRequest } from "../../src/s3/sigv4.js";

interface Fixture {
  accessKey: string;
  secret: string;
  now: number;
  requests: { tool: string; method: string; url: string; headers: Record<string, string> }[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/s3-wire/sigv2-presigned.json", import.meta.url), "utf8"),
) as Fixture;
const { accessKey, secret, now } = fixture;
const lookup = async (id: string) => (id === accessKey ? { secret } : null);

function toInput(method: string, url: string, headers: Record<string, string> = {}): S3RequestInput {
  const rest = url.replace(/^https?:\/\/[^/]+/, "");
  const q = rest.indexOf("?");
  return {
    method,
    rawPath: q < 0 ? rest : rest.slice(0, q),
    rawQuery: q < 0 ? "" : rest.slice(q + 1),
    headers: HeaderIndex.fromObject({ host: "127.0.0.1:9000", ...headers }),
  };
}

async function rejects(p: Promise<unknown>, code?: S3ErrorCode): Promise<S3Error> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${code ?? "an S3 error"}, but the request verified`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(S3Error);
  if (code) expect((e as S3Error).code).toBe(code);
  return e as S3Error;
}

const verify = (input: S3RequestInput, at = now) => verifyRequest(input, { lookup, now: at });
const getUrl = fixture.requests[0]!.url;

describe("SigV2 presigned URLs made by botocore and s3cmd", () => {
  it.each(fixture.requests.map((r) => [r.tool, r.method, r.url, r.headers] as const))(
    "%s: %s %s verifies",
    async (_tool, method, url, headers) => {
      const v = await verify(toInput(method, url, headers));
      expect(v.presigned).toBe(true);
      expect(v.accessKeyId).toBe(accessKey);
      expect(v.payload).toEqual({ kind: "unsigned" });
      expect(v.expiresAt).toBe(Number(/Expires=(\d+)/.exec(url)![1]) * 1000);
    },
  );

  it("exposes the signed content-type and x-amz-meta-* query parameters as headers", async () => {
    const put = fixture.requests.find((r) => r.method === "PUT" && r.url.includes("content-type="))!;
    const v = await verify(toInput("PUT", put.url, put.headers));
    expect(v.headers.get("content-type")).toBe("text/x-a");
    expect(v.headers.get("x-amz-meta-project")).toBe("apollo");
    // The same URL without the header: the signed parameter stands for it.
    expect((await verify(toInput("PUT", put.url))).headers.get("content-type")).toBe("text/x-a");
  });

  it("fails on one changed character anywhere in the path or the query", async () => {
    for (const r of fixture.requests.slice(0, 13)) {
      const input = toInput(r.method, r.url, r.headers);
      const pathAndQuery = `${input.rawPath}?${input.rawQuery}`;
      for (let i = 0; i < pathAndQuery.length; i++) {
        const c = pathAndQuery.charCodeAt(i);
        const changed = pathAndQuery.slice(0, i) + String.fromCharCode(c ^ 1) + pathAndQuery.slice(i + 1);
        const q = changed.indexOf("?");
        const e = await verify({
          ...input,
          rawPath: changed.slice(0, q),
          rawQuery: changed.slice(q + 1),
        }).catch((err: unknown) => err);
        expect(e, `${r.url} with character ${i} changed`).toBeInstanceOf(S3Error);
      }
    }
  });

  it("fails for another method, a header the signer did not sign, or a different content type", async () => {
    await rejects(verify(toInput("PUT", getUrl)), "SignatureDoesNotMatch");
    await rejects(verify(toInput("HEAD", getUrl)), "SignatureDoesNotMatch");
    await rejects(verify(toInput("GET", getUrl, { "x-amz-meta-added": "1" })), "SignatureDoesNotMatch");
    await rejects(verify(toInput("GET", getUrl, { "content-type": "text/html" })), "SignatureDoesNotMatch");
    const put = fixture.requests.find((r) => r.method === "PUT" && r.url.includes("content-type="))!;
    const e = await rejects(verify(toInput("PUT", put.url, { "content-type": "text/html" })), "AccessDenied");
    expect(e.message).toMatch(/content-type/);
  });

  it("refuses a query parameter SigV2 does not sign, rather than let it widen the URL", async () => {
    const e = await rejects(verify(toInput("GET", `${getUrl}&prefix=other`)), "AccessDenied");
    expect(e.message).toMatch(/'prefix' is not covered/);
  });

  it("expires at Expires; refuses a URL more than a week ahead", async () => {
    const expires = Number(/Expires=(\d+)/.exec(getUrl)![1]) * 1000;
    await verify(toInput("GET", getUrl), expires);
    const e = await rejects(verify(toInput("GET", getUrl), expires + 1000), "AccessDenied");
    expect(e.message).toBe("Request has expired");
    await rejects(
      verify(toInput("GET", getUrl), expires - 604800_000 - 16 * 60_000),
      "AuthorizationQueryParametersError",
    );
  });

  it("an unknown access key is InvalidAccessKeyId; another secret is SignatureDoesNotMatch", async () => {
    await rejects(
      verify(toInput("GET", getUrl.replace(accessKey, "AKIDNOSUCHKEY0000"))),
      "InvalidAccessKeyId",
    );
    await rejects(
      verifyRequest(toInput("GET", getUrl), { lookup: async () => ({ secret: `${secret}x` }), now }),
      "SignatureDoesNotMatch",
    );
  });

  it("refuses missing, repeated and malformed parameters, and a session token, clearly", async () => {
    const input = toInput("GET", getUrl);
    const without = (name: string) =>
      input.rawQuery
        .split("&")
        .filter((p) => !p.startsWith(`${name}=`))
        .join("&");
    for (const name of ["AWSAccessKeyId", "Expires", "Signature"]) {
      const e = await rejects(verify({ ...input, rawQuery: without(name) }), "AccessDenied");
      expect(e.message).toMatch(/AWSAccessKeyId, Expires and Signature/);
    }
    await rejects(verify({ ...input, rawQuery: `${input.rawQuery}&Expires=1777640400` }), "AccessDenied");
    await rejects(verify({ ...input, rawQuery: `${without("Signature")}&Signature=abc%3D` }), "AccessDenied");
    await rejects(verify({ ...input, rawQuery: `${without("Expires")}&Expires=soon` }), "AccessDenied");
    await rejects(verify({ ...input, rawQuery: `${input.rawQuery}&x-amz-security-token=t` }), "InvalidToken");
  });

  it("takes an unescaped '+' in the signature as the plus it was", async () => {
    const withPlus = fixture.requests.find((r) => /Signature=[^&]*%2B/.test(r.url))!;
    await verify(toInput(withPlus.method, withPlus.url.replace(/%2B/g, "+"), withPlus.headers));
  });

  it("refuses a signed chunked body, which a SigV2 URL cannot carry", async () => {
    const put = fixture.requests.find((r) => r.url.includes("partNumber="))!;
    const input = toInput("PUT", put.url, { "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER" });
    await rejects(verify(input), "InvalidRequest");
  });

  it("AWS's published query-string example, virtual-hosted (the bucket comes from the Host)", async () => {
    const input: S3RequestInput = {
      method: "GET",
      rawPath: "/photos/puppy.jpg",
      rawQuery:
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
      headers: HeaderIndex.fromObject({ host: "johnsmith.s3.amazonaws.com" }),
      virtualBucket: "johnsmith",
    };
    const awsLookup = async (id: string) =>
      id === "AKIAIOSFODNN7EXAMPLE" ? { secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } : null;
    await verifyRequest(input, { lookup: awsLookup, now: 1175139000_000 });
    await rejects(
      verifyRequest({ ...input, virtualBucket: undefined }, { lookup: awsLookup, now: 1175139000_000 }),
      "SignatureDoesNotMatch",
    );
  });
});
