// SigV4's canonical request, the way S3 builds it: the path encoded once (never twice, unlike other
// AWS services), every component encoded with RFC 3986's unreserved set, the query sorted by encoded
// name then value, header values trimmed with inner runs of whitespace collapsed.
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";

const RESERVED_BY_RFC3986 = /[!'()*]/g;

/** Percent-encodes every UTF-8 byte outside A-Z a-z 0-9 - _ . ~ (and "/" too unless keepSlash). */
export function uriEncode(s: string, keepSlash: boolean): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(s);
  } catch {
    // Only a lone UTF-16 surrogate gets here, and no UTF-8 request can carry one.
    throw new S3Error("InvalidURI", "Couldn't parse the specified URI: it is not valid Unicode.");
  }
  // encodeURIComponent leaves !'()* alone; RFC 3986 (and so SigV4) reserves them.
  const out = encoded.replace(RESERVED_BY_RFC3986, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? out.replace(/%2F/g, "/") : out;
}

function decodeOrThrow(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error(
      "InvalidURI",
      "Couldn't parse the specified URI: a percent-escape is malformed or not UTF-8.",
    );
  }
}

/** The path's text: percent-escapes decoded, "+" kept as a plus (it is a space only in a query). */
export function decodePath(rawPath: string): string {
  return rawPath.includes("%") ? decodeOrThrow(rawPath) : rawPath;
}

/** A query component's text: "+" is a space there, as in HTML forms, AWS S3 and MinIO. */
export function decodeQueryComponent(s: string): string {
  const spaced = s.includes("+") ? s.replace(/\+/g, " ") : s;
  return spaced.includes("%") ? decodeOrThrow(spaced) : spaced;
}

export interface QueryParam {
  /** Decoded name and value. */
  name: string;
  value: string;
  /** The name and value exactly as the client sent them. */
  rawName: string;
  rawValue: string;
}

/** Splits a raw query string ("" when none; no leading "?") into its parameters, in order. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery === "") return out;
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    out.push({
      name: decodeQueryComponent(rawName),
      value: decodeQueryComponent(rawValue),
      rawName,
      rawValue,
    });
  }
  return out;
}

/** The canonical URI: the decoded path re-encoded once, segment by segment; "//" and a trailing "/" kept. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === "") return "/";
  return uriEncode(decodePath(rawPath), true);
}

function joinSorted(pairs: [string, string][]): string {
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = "";
  for (const [k, v] of pairs) out += `${out === "" ? "" : "&"}${k}=${v}`;
  return out;
}

/** The canonical query from the decoded parameters re-encoded; `exclude` names one to leave out (X-Amz-Signature). */
export function canonicalQuery(params: readonly QueryParam[], exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params)
    if (p.name !== exclude) pairs.push([uriEncode(p.name, false), uriEncode(p.value, false)]);
  return joinSorted(pairs);
}

/** The canonical query from the parameters as sent: for clients that sign their own, looser, encoding. */
export function canonicalQueryAsSent(params: readonly QueryParam[], exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params) if (p.name !== exclude) pairs.push([p.rawName, p.rawValue]);
  return joinSorted(pairs);
}

/** "name:value\n" for each signed header, in the order the client listed them. */
export function canonicalHeaders(headers: HeaderIndex, signedHeaders: readonly string[]): string {
  let out = "";
  for (const name of signedHeaders) {
    const value = headers.get(name) ?? "";
    out += `${name}:${value.replace(/\s+/g, " ").trim()}\n`;
  }
  return out;
}

export function canonicalRequest(
  method: string,
  uri: string,
  query: string,
  headers: string,
  signedHeaders: string,
  payloadHash: string,
): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}
