// Verifies a presigned URL in the older Signature Version 2 query form (AWSAccessKeyId, Expires,
// Signature): boto3's generate_presigned_url, aws-cli v1's `s3 presign` and s3cmd's `signurl` still
// make these by default. Only the query form is accepted; a SigV2 Authorization header stays refused.
import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalUri, type QueryParam } from "./canonical.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";
import type {
  AccessKeyRecord,
  PayloadMode,
  S3RequestInput,
  VerifiedRequest,
  VerifyOptions,
} from "./sigv4.js";
import { MAX_PRESIGNED_EXPIRES } from "./sigv4-params.js";

/** The sub-resources SigV2 signs (its CanonicalizedResource): every other query parameter is not. */
const SIGNED_SUBRESOURCES = new Set([
  "acl",
  "cors",
  "delete",
  "lifecycle",
  "location",
  "logging",
  "notification",
  "partNumber",
  "policy",
  "requestPayment",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
]);

const AUTH_PARAMS = new Set(["AWSAccessKeyId", "Expires", "Signature"]);
const SHA1_BYTES = 20;

/** A request that names a SigV2 presigned URL's parameters and no SigV4 ones (and no Authorization). */
export function isSigV2Presigned(headers: HeaderIndex, query: readonly QueryParam[]): boolean {
  if (headers.has("authorization")) return false;
  if (query.some((p) => p.name === "X-Amz-Algorithm" || p.name === "X-Amz-Signature")) return false;
  return query.some((p) => p.name === "AWSAccessKeyId" || p.name === "Signature");
}

function fail(message: string): S3Error {
  return new S3Error("AccessDenied", `Query-string authentication: ${message}.`);
}

function one(query: readonly QueryParam[], name: string): string {
  let found: string | undefined;
  for (const p of query) {
    if (p.name !== name) continue;
    if (found !== undefined) throw fail(`${name} appears more than once`);
    found = p.value;
  }
  if (found === undefined) throw fail("it requires the AWSAccessKeyId, Expires and Signature parameters");
  return found;
}

function isHeaderParam(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith("x-amz-") || n === "content-type" || n === "content-md5";
}

/**
 * SigV2 leaves every other query parameter unsigned (a listing's prefix, max-keys…): such a URL could
 * be widened by whoever holds it, so it is refused rather than served.
 */
function refuseUnsignedParams(query: readonly QueryParam[]): void {
  for (const p of query)
    if (!AUTH_PARAMS.has(p.name) && !SIGNED_SUBRESOURCES.has(p.name) && !isHeaderParam(p.name))
      throw fail(
        `the parameter '${p.name}' is not covered by a Signature Version 2 signature; presign this request with Signature Version 4`,
      );
}

/**
 * The signer may have moved Content-Type, Content-MD5 and x-amz-* headers into the query (botocore
 * does): they are signed there and stand for headers. A header that says otherwise is refused.
 */
function effectiveHeaders(headers: HeaderIndex, query: readonly QueryParam[]): HeaderIndex {
  const added: [string, string][] = [];
  for (const p of query) {
    if (!isHeaderParam(p.name)) continue;
    const name = p.name.toLowerCase();
    const sent = headers.get(name);
    if (sent === undefined) added.push([name, p.value]);
    else if (sent !== p.value.trim())
      throw new S3Error(
        "AccessDenied",
        `The ${name} header differs from the signed ${name} query parameter.`,
      );
  }
  return added.length > 0 ? headers.withAdded(added) : headers;
}

function canonicalAmzHeaders(headers: HeaderIndex): string {
  const names = [...headers.names()].filter((n) => n.startsWith("x-amz-")).sort();
  let out = "";
  for (const n of names) out += `${n}:${headers.get(n)!}\n`;
  return out;
}

function subresources(query: readonly QueryParam[]): string {
  const pairs = query
    .filter((p) => SIGNED_SUBRESOURCES.has(p.name))
    .map((p) => (p.value === "" ? p.name : `${p.name}=${p.value}`))
    .sort();
  return pairs.length > 0 ? `?${pairs.join("&")}` : "";
}

export function stringToSignV2(
  method: string,
  headers: HeaderIndex,
  expires: string,
  resourcePath: string,
  query: readonly QueryParam[],
): string {
  const md5 = headers.get("content-md5") ?? "";
  const type = headers.get("content-type") ?? "";
  return `${method}\n${md5}\n${type}\n${expires}\n${canonicalAmzHeaders(headers)}${resourcePath}${subresources(query)}`;
}

/** The 20-byte HMAC-SHA1 the URL carries; a "+" left unescaped in it reached us as a space. */
function signatureBytes(value: string): Buffer {
  const b64 = value.replace(/ /g, "+");
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== SHA1_BYTES || bytes.toString("base64") !== b64)
    throw fail("the Signature must be the base64 of an HMAC-SHA1");
  return bytes;
}

function payloadOf(headers: HeaderIndex): PayloadMode {
  const declared = headers.get("x-amz-content-sha256");
  if (declared === undefined || declared === "UNSIGNED-PAYLOAD") return { kind: "unsigned" };
  if (/^[0-9a-fA-F]{64}$/.test(declared)) return { kind: "sha256", sha256: Buffer.from(declared, "hex") };
  throw new S3Error("InvalidRequest", "A Signature Version 2 presigned URL carries a plain body.");
}

/**
 * Checks a SigV2 presigned URL: HMAC-SHA1 over the method, Content-MD5, Content-Type, Expires, the
 * x-amz-* headers and the resource (the bucket and path as sent, with the signed sub-resources),
 * compared in constant time. Expires is an absolute time, at most a week ahead, as for SigV4.
 */
export async function verifySigV2Presigned<K extends AccessKeyRecord>(
  req: S3RequestInput,
  query: QueryParam[],
  opts: VerifyOptions<K>,
): Promise<VerifiedRequest<K>> {
  if (
    query.some((p) => p.name.toLowerCase() === "x-amz-security-token") ||
    req.headers.has("x-amz-security-token")
  )
    throw new S3Error("InvalidToken", "Session tokens are not supported; sign with an access key.");
  const accessKeyId = one(query, "AWSAccessKeyId");
  const expiresText = one(query, "Expires");
  const given = signatureBytes(one(query, "Signature"));
  if (!/^\d{1,12}$/.test(expiresText)) throw fail("Expires must be a time in seconds since the epoch");
  refuseUnsignedParams(query);
  const now = opts.now ?? Date.now();
  const expiresAt = Number(expiresText) * 1000;
  const serverTime = new Date(now).toUTCString();
  if (now > expiresAt)
    throw new S3Error("AccessDenied", "Request has expired", {
      Expires: new Date(expiresAt).toUTCString(),
      ServerTime: serverTime,
    });
  const skew = opts.maxSkewMs ?? 15 * 60 * 1000;
  if (expiresAt - now > MAX_PRESIGNED_EXPIRES * 1000 + skew)
    throw new S3Error(
      "AuthorizationQueryParametersError",
      `Query-string authentication: Expires must be at most ${MAX_PRESIGNED_EXPIRES} seconds (a week) ahead.`,
    );

  const headers = effectiveHeaders(req.headers, query);
  const payload = payloadOf(headers);
  const key = await opts.lookup(accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: accessKeyId });

  const prefix = req.virtualBucket === undefined ? "" : `/${req.virtualBucket}`;
  const asSent = `${prefix}${req.rawPath || "/"}`;
  const sign = (path: string) => stringToSignV2(req.method, headers, expiresText, path, query);
  const mac = (s: string) => createHmac("sha1", key.secret).update(s, "utf8").digest();
  let matched = timingSafeEqual(mac(sign(asSent)), given);
  // A signer that encodes the path more (or less) than it sends it still names the same resource.
  const normalised = `${prefix}${canonicalUri(req.rawPath)}`;
  if (!matched && normalised !== asSent) matched = timingSafeEqual(mac(sign(normalised)), given);
  if (!matched)
    throw new S3Error("SignatureDoesNotMatch", undefined, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: sign(asSent),
    });

  return {
    accessKeyId,
    key,
    region: "",
    amzDate: "",
    time: now,
    scope: "",
    // No signed chunk stream can follow a SigV2 URL (payloadOf refuses one), so no signing key either.
    signingKey: Buffer.alloc(0),
    seedSignature: "",
    payload,
    presigned: true,
    expiresAt,
    signedHeaders: [],
    query,
    headers,
  };
}
