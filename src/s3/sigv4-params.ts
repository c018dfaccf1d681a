// Reads a SigV4 request's claims, from the Authorization header or a presigned query, into one shape;
// every malformed, missing, repeated or unsupported piece is a typed S3 error, never a crash.
import type { QueryParam } from "./canonical.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const MAX_PRESIGNED_EXPIRES = 604800;

export interface SigV4Params {
  presigned: boolean;
  accessKeyId: string;
  /** The credential scope's parts: YYYYMMDD, region, service. */
  scopeDate: string;
  region: string;
  service: string;
  /** As the client listed them, lower case. */
  signedHeaders: string[];
  /** Lower-case hex. */
  signature: string;
  /** The request time in ISO 8601 basic form (20130524T000000Z), as it enters the string to sign. */
  amzDate: string;
  /** The request time, in ms since the epoch. */
  time: number;
  /** Presigned only: X-Amz-Expires, in seconds. */
  expires?: number;
}

const UNSUPPORTED =
  "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.";
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const REGION = /^[A-Za-z0-9._-]{1,64}$/;
const ACCESS_KEY_ID = /^[\x21-\x7e]{1,128}$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

/** Parses 20130524T000000Z into ms since the epoch; null when it is not a real UTC time of that form. */
export function parseAmzDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return null;
  return t;
}

export function formatAmzDate(t: number): string {
  return new Date(t)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

type Fail = (message: string) => S3Error;

function parseCredential(
  value: string,
  fail: Fail,
): Pick<SigV4Params, "accessKeyId" | "scopeDate" | "region" | "service"> {
  const parts = value.split("/");
  if (parts.length !== 5)
    throw fail(`the Credential '${value}' must have the form ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request`);
  const [accessKeyId, scopeDate, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (!ACCESS_KEY_ID.test(accessKeyId)) throw fail("the Credential's access key id is malformed");
  if (!/^\d{8}$/.test(scopeDate) || parseAmzDate(`${scopeDate}T000000Z`) === null)
    throw fail(`the Credential's date '${scopeDate}' is not a valid YYYYMMDD date`);
  if (!REGION.test(region)) throw fail("the Credential's region is malformed");
  if (service !== "s3") throw fail(`the Credential's service is '${service}'; it must be 's3'`);
  if (terminator !== "aws4_request")
    throw fail(`the Credential must end with 'aws4_request', not '${terminator}'`);
  return { accessKeyId, scopeDate, region, service };
}

function parseSignedHeaders(value: string, fail: Fail): string[] {
  const names = value.split(";");
  const seen = new Set<string>();
  for (const n of names) {
    if (!HEADER_NAME.test(n))
      throw fail(`SignedHeaders '${value}' must be lower-case header names joined by ';'`);
    if (seen.has(n)) throw fail(`SignedHeaders names '${n}' twice`);
    seen.add(n);
  }
  if (!seen.has("host")) throw fail("SignedHeaders must include 'host'");
  return names;
}

function parseSignature(value: string, fail: Fail): string {
  if (!SIGNATURE.test(value)) throw fail("the Signature must be 64 hexadecimal digits");
  return value.toLowerCase();
}

/** The request time of a header-signed request: X-Amz-Date, else the Date header. */
function headerTime(headers: HeaderIndex): { amzDate: string; time: number } {
  const amz = headers.get("x-amz-date");
  if (amz !== undefined) {
    const t = parseAmzDate(amz);
    if (t === null) throw new S3Error("AccessDenied", "X-Amz-Date must be a UTC time like 20130524T000000Z");
    return { amzDate: amz, time: t };
  }
  const date = headers.get("date");
  const t = date === undefined ? Number.NaN : Date.parse(date);
  if (!Number.isFinite(t))
    throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  return { amzDate: formatAmzDate(t), time: t };
}

export function parseAuthorizationHeader(value: string, headers: HeaderIndex): SigV4Params {
  const fail: Fail = (m) =>
    new S3Error("AuthorizationHeaderMalformed", `The authorization header is malformed; ${m}.`);
  const space = value.indexOf(" ");
  const scheme = space < 0 ? value : value.slice(0, space);
  if (scheme !== ALGORITHM) {
    if (scheme === "AWS" || scheme === "AWS4-ECDSA-P256-SHA256")
      throw new S3Error("AccessDenied", UNSUPPORTED);
    throw new S3Error("InvalidArgument", "Unsupported Authorization Type");
  }
  const fields = new Map<string, string>();
  for (const item of value.slice(space + 1).split(",")) {
    const trimmed = item.trim();
    const eq = trimmed.indexOf("=");
    if (eq < 0) throw fail(`'${trimmed}' is not a name=value pair`);
    const name = trimmed.slice(0, eq);
    if (!["Credential", "SignedHeaders", "Signature"].includes(name))
      throw fail(`unknown component '${name}'`);
    if (fields.has(name)) throw fail(`${name} appears twice`);
    fields.set(name, trimmed.slice(eq + 1));
  }
  for (const name of ["Credential", "SignedHeaders", "Signature"])
    if (!fields.has(name)) throw fail(`the ${name} component is missing`);
  return {
    presigned: false,
    ...parseCredential(fields.get("Credential")!, fail),
    signedHeaders: parseSignedHeaders(fields.get("SignedHeaders")!, fail),
    signature: parseSignature(fields.get("Signature")!, fail),
    ...headerTime(headers),
  };
}

export function parsePresignedQuery(params: readonly QueryParam[]): SigV4Params {
  const fail: Fail = (m) =>
    new S3Error("AuthorizationQueryParametersError", `Query-string authentication: ${m}.`);
  const one = (name: string): string => {
    let found: string | undefined;
    for (const p of params) {
      if (p.name !== name) continue;
      if (found !== undefined) throw fail(`${name} appears more than once`);
      found = p.value;
    }
    if (found === undefined) throw fail(`${name} is missing`);
    return found;
  };
  const algorithm = one("X-Amz-Algorithm");
  if (algorithm !== ALGORITHM) throw fail(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const amzDate = one("X-Amz-Date");
  const time = parseAmzDate(amzDate);
  if (time === null) throw fail("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const expiresText = one("X-Amz-Expires");
  if (!/^\d{1,7}$/.test(expiresText)) throw fail("X-Amz-Expires should be a number of seconds");
  const expires = Number(expiresText);
  if (expires > MAX_PRESIGNED_EXPIRES)
    throw fail(`X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGNED_EXPIRES}`);
  return {
    presigned: true,
    ...parseCredential(one("X-Amz-Credential"), fail),
    signedHeaders: parseSignedHeaders(one("X-Amz-SignedHeaders"), fail),
    signature: parseSignature(one("X-Amz-Signature"), fail),
    amzDate,
    time,
    expires,
  };
}

/** Which scheme signs this request; anonymous, SigV2 and session tokens are refused with a clear error. */
export function parseSigV4(headers: HeaderIndex, params: readonly QueryParam[]): SigV4Params {
  const authorization = headers.get("authorization");
  const presigned = params.some((p) => p.name === "X-Amz-Algorithm" || p.name === "X-Amz-Signature");
  if (params.some((p) => p.name === "X-Amz-Security-Token") || headers.has("x-amz-security-token"))
    throw new S3Error(
      "InvalidToken",
      "Session tokens (X-Amz-Security-Token) are not supported; sign with an access key.",
    );
  if (authorization !== undefined && presigned)
    throw new S3Error(
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
    );
  if (authorization !== undefined) return parseAuthorizationHeader(authorization, headers);
  if (presigned) return parsePresignedQuery(params);
  if (params.some((p) => p.name === "AWSAccessKeyId" || p.name === "Signature"))
    throw new S3Error("AccessDenied", UNSUPPORTED);
  throw new S3Error(
    "AccessDenied",
    "Anonymous access is not supported; sign requests with an access key (AWS Signature Version 4).",
  );
}
