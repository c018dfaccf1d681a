// Verifies an S3 request's SigV4 signature (Authorization header or presigned query; a SigV2 presigned
// query goes to sigv2.ts) and says how its body is to be read. Pure: the caller passes the request's
// parts and a secret lookup, nothing else.
import { timingSafeEqual } from "node:crypto";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalQueryAsSent,
  canonicalRequest,
  canonicalUri,
  parseQuery,
  type QueryParam,
} from "./canonical.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";
import { hmacHex, SigningKeyCache, sha256Hex } from "./signing-key.js";
import { isSigV2Presigned, verifySigV2Presigned } from "./sigv2.js";
import { ALGORITHM, formatAmzDate, parseSigV4, type SigV4Params } from "./sigv4-params.js";

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
export const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const MAX_SKEW_MS = 15 * 60 * 1000;

export interface S3RequestInput {
  method: string;
  /** The path exactly as sent (still percent-encoded), without the query. */
  rawPath: string;
  /** The query string exactly as sent, without the "?"; "" when there is none. */
  rawQuery: string;
  headers: HeaderIndex;
  /** The bucket a virtual-hosted Host header names (SSE_S3_DOMAIN): SigV2 signs it as part of the path. */
  virtualBucket?: string;
}

export interface AccessKeyRecord {
  secret: Buffer | string;
}

/** How the body is framed and what proves it, from x-amz-content-sha256. */
export type PayloadMode =
  | { kind: "sha256"; sha256: Buffer }
  | { kind: "unsigned" }
  | { kind: "streaming-signed"; trailer: boolean }
  | { kind: "streaming-unsigned-trailer" };

export interface VerifiedRequest<K extends AccessKeyRecord> {
  accessKeyId: string;
  /** What the lookup returned for the access key (its owner, scopes…). */
  key: K;
  region: string;
  amzDate: string;
  /** The request time, ms since the epoch. */
  time: number;
  /** "YYYYMMDD/region/s3/aws4_request". */
  scope: string;
  /** Secret-equivalent for a day: pass it to the body decoder, never log it. */
  signingKey: Buffer;
  /** The request's own signature, lower-case hex: the seed of a signed chunk stream. */
  seedSignature: string;
  payload: PayloadMode;
  presigned: boolean;
  /** Presigned only: when the URL stops working, ms since the epoch. */
  expiresAt?: number;
  signedHeaders: readonly string[];
  /** The decoded query parameters, in order (the caller routes on them). */
  query: QueryParam[];
  /**
   * The headers to act on: the request's own, plus, for a presigned URL, its signed x-amz-* query
   * parameters (x-amz-meta-*, x-amz-checksum-*…), which a presigner hoists out of the headers.
   */
  headers: HeaderIndex;
}

export interface VerifyOptions<K extends AccessKeyRecord> {
  /** The secret of an access key, or null when there is no such (live) key. */
  lookup: (accessKeyId: string) => Promise<K | null>;
  /** The server's clock, ms since the epoch; Date.now() when absent. */
  now?: number;
  maxSkewMs?: number;
  keyCache?: SigningKeyCache;
}

const defaultCache = new SigningKeyCache();
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

export function payloadModeOf(value: string): PayloadMode {
  if (SHA256_HEX.test(value)) return { kind: "sha256", sha256: Buffer.from(value, "hex") };
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: "unsigned" };
    case STREAMING_SIGNED:
      return { kind: "streaming-signed", trailer: false };
    case STREAMING_SIGNED_TRAILER:
      return { kind: "streaming-signed", trailer: true };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: "streaming-unsigned-trailer" };
  }
  if (value.startsWith("STREAMING-AWS4-ECDSA-P256-SHA256"))
    throw new S3Error("NotImplemented", "Signature Version 4A (ECDSA) payload signing is not supported.");
  throw new S3Error(
    "InvalidArgument",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
  );
}

/** The payload hash that enters the canonical request. */
function payloadHashOf(p: SigV4Params, headers: HeaderIndex, query: readonly QueryParam[]): string {
  const header = headers.get("x-amz-content-sha256");
  if (!p.presigned) return header ?? EMPTY_SHA256;
  // A presigned URL signs UNSIGNED-PAYLOAD unless the signer chose to bind a hash.
  if (header !== undefined && p.signedHeaders.includes("x-amz-content-sha256")) return header;
  return query.find((q) => q.name === "X-Amz-Content-Sha256")?.value ?? UNSIGNED_PAYLOAD;
}

function checkTime(p: SigV4Params, now: number, maxSkewMs: number): number | undefined {
  if (p.amzDate.slice(0, 8) !== p.scopeDate) {
    const code = p.presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed";
    throw new S3Error(
      code,
      `Invalid credential date "${p.scopeDate}". This date is not the same as X-Amz-Date: "${p.amzDate.slice(0, 8)}".`,
    );
  }
  const serverTime = formatAmzDate(now);
  if (!p.presigned) {
    if (Math.abs(now - p.time) > maxSkewMs)
      throw new S3Error("RequestTimeTooSkewed", undefined, {
        RequestTime: p.amzDate,
        ServerTime: serverTime,
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      });
    return undefined;
  }
  if (p.time - now > maxSkewMs)
    throw new S3Error("AccessDenied", "Request is not valid yet", { ServerTime: serverTime });
  const expiresAt = p.time + p.expires! * 1000;
  if (now > expiresAt)
    throw new S3Error("AccessDenied", "Request has expired", {
      "X-Amz-Expires": String(p.expires),
      Expires: formatAmzDate(expiresAt),
      ServerTime: serverTime,
    });
  return expiresAt;
}

/** x-amz-* headers steer S3 (copy source, metadata, checksums): one added after signing must not pass. */
function checkAllAmzHeadersSigned(p: SigV4Params, headers: HeaderIndex): void {
  const signed = new Set(p.signedHeaders);
  const unsigned: string[] = [];
  for (const name of headers.names()) if (name.startsWith("x-amz-") && !signed.has(name)) unsigned.push(name);
  if (unsigned.length > 0)
    throw new S3Error("AccessDenied", "There were headers present in the request which were not signed", {
      HeadersNotSigned: unsigned.join(", "),
    });
}

const PRESIGN_PARAMS = new Set([
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-signedheaders",
  "x-amz-signature",
  "x-amz-security-token",
  "x-amz-content-sha256",
]);

function hoistedHeaders(query: readonly QueryParam[]): [string, string][] {
  const out: [string, string][] = [];
  for (const q of query) {
    const name = q.name.toLowerCase();
    if (name.startsWith("x-amz-") && !PRESIGN_PARAMS.has(name)) out.push([name, q.value]);
  }
  return out;
}

function sameSignature(expectedHex: string, givenHex: string): boolean {
  const a = Buffer.from(expectedHex, "hex");
  const b = Buffer.from(givenHex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the request's signature and time. Throws S3Error (AccessDenied, InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, Authorization*Malformed…) or returns who signed and
 * how to read the body. The body itself is checked by the payload decoder.
 */
export async function verifyRequest<K extends AccessKeyRecord>(
  req: S3RequestInput,
  opts: VerifyOptions<K>,
): Promise<VerifiedRequest<K>> {
  const query = parseQuery(req.rawQuery);
  if (isSigV2Presigned(req.headers, query)) return verifySigV2Presigned(req, query, opts);
  const p = parseSigV4(req.headers, query);
  const now = opts.now ?? Date.now();
  const expiresAt = checkTime(p, now, opts.maxSkewMs ?? MAX_SKEW_MS);
  checkAllAmzHeadersSigned(p, req.headers);
  const payloadHash = payloadHashOf(p, req.headers, query);
  const payload = payloadModeOf(payloadHash);
  if (p.presigned && payload.kind === "streaming-signed")
    throw new S3Error(
      "InvalidRequest",
      "A presigned request cannot carry a signed chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) body.",
    );

  const key = await opts.lookup(p.accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: p.accessKeyId });

  const scope = `${p.scopeDate}/${p.region}/${p.service}/aws4_request`;
  const signingKey = (opts.keyCache ?? defaultCache).get(key.secret, p.scopeDate, p.region);
  const exclude = p.presigned ? "X-Amz-Signature" : undefined;
  const headersBlock = canonicalHeaders(req.headers, p.signedHeaders);
  const signedList = p.signedHeaders.join(";");
  const stringToSign = (creq: string) => `${ALGORITHM}\n${p.amzDate}\n${scope}\n${sha256Hex(creq)}`;

  const strict = canonicalRequest(
    req.method,
    canonicalUri(req.rawPath),
    canonicalQuery(query, exclude),
    headersBlock,
    signedList,
    payloadHash,
  );
  let matched = sameSignature(hmacHex(signingKey, stringToSign(strict)), p.signature);
  if (!matched) {
    // Some signers canonicalise the path and query exactly as they sent them, with a looser encoding
    // than RFC 3986 ("+", "!", "%7E"…); both forms name the same decoded resource.
    const asSent = canonicalRequest(
      req.method,
      req.rawPath || "/",
      canonicalQueryAsSent(query, exclude),
      headersBlock,
      signedList,
      payloadHash,
    );
    if (asSent !== strict) matched = sameSignature(hmacHex(signingKey, stringToSign(asSent)), p.signature);
  }
  if (!matched)
    throw new S3Error("SignatureDoesNotMatch", undefined, {
      AWSAccessKeyId: p.accessKeyId,
      StringToSign: stringToSign(strict),
      CanonicalRequest: strict,
    });

  return {
    accessKeyId: p.accessKeyId,
    headers: p.presigned ? req.headers.withAdded(hoistedHeaders(query)) : req.headers,
    key,
    region: p.region,
    amzDate: p.amzDate,
    time: p.time,
    scope,
    signingKey,
    seedSignature: p.signature,
    payload,
    presigned: p.presigned,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    signedHeaders: p.signedHeaders,
    query,
  };
}
