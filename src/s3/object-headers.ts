// The HTTP headers of S3 objects: what a write stores (Content-Type, Cache-Control,
// Content-Disposition, Content-Encoding, Content-Language, Expires, x-amz-meta-*), what a read
// answers with (those, ETag, Last-Modified, the server-side encryption S3 would report, checksums),
// the response-* overrides of a GET, and the conditional headers of reads and writes.
import type { FastifyReply } from "fastify";
import type { ObjectMetadata, StoredHeaders } from "../objects/object-metadata.js";
import type { ObjectMeta } from "../store/records.js";
import { CHECKSUM_ALGORITHMS, checksumHeader } from "./checksums.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";
import { storedContentEncoding } from "./payload.js";

/** S3's limit on user metadata: names and values of every x-amz-meta-* header, in UTF-8 bytes. */
export const MAX_USER_METADATA_BYTES = 2048;

export function headersToStore(h: HeaderIndex): StoredHeaders {
  const out: StoredHeaders = {};
  const cacheControl = h.get("cache-control");
  const disposition = h.get("content-disposition");
  const encoding = storedContentEncoding(h);
  const language = h.get("content-language");
  const expires = h.get("expires");
  if (cacheControl) out.cacheControl = cacheControl;
  if (disposition) out.contentDisposition = disposition;
  if (encoding) out.contentEncoding = encoding;
  if (language) out.contentLanguage = language;
  if (expires) out.expires = expires;
  return out;
}

export function userMetadata(h: HeaderIndex): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const name of h.names()) {
    if (!name.startsWith("x-amz-meta-")) continue;
    const key = name.slice("x-amz-meta-".length);
    const value = h.get(name) ?? "";
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    out[key] = value;
  }
  if (bytes > MAX_USER_METADATA_BYTES)
    throw new S3Error(
      "MetadataTooLarge",
      `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_METADATA_BYTES} bytes.`,
    );
  return out;
}

export function contentTypeOf(h: HeaderIndex): string {
  return h.get("content-type") || "binary/octet-stream";
}

/** The S3 ETag header value of an object, quoted. */
export function s3Etag(meta: ObjectMeta, md: ObjectMetadata | null): string {
  return md?.etag ? `"${md.etag}"` : meta.etag;
}

/** Header values may hold only Latin-1 (Node refuses more); S3 sends UTF-8 metadata as MIME words. */
function headerSafe(v: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is unsafe in a header
  if (/^[\x20-\x7e\t]*$/.test(v)) return v;
  return `=?UTF-8?B?${Buffer.from(v, "utf8").toString("base64")}?=`;
}

/** Headers every object answer (GET, HEAD) carries. */
export function writeObjectHeaders(
  reply: FastifyReply,
  meta: ObjectMeta,
  md: ObjectMetadata | null,
  opts: { checksums: boolean; partsCount?: number },
): void {
  reply.header("Content-Type", md?.contentType ?? meta.contentType);
  reply.header("ETag", s3Etag(meta, md));
  reply.header("Last-Modified", meta.modified.toUTCString());
  reply.header("Accept-Ranges", "bytes");
  // Every byte at rest is encrypted under keys this server manages: what S3 calls SSE-S3.
  reply.header("x-amz-server-side-encryption", "AES256");
  const h = md?.headers ?? {};
  if (h.cacheControl) reply.header("Cache-Control", headerSafe(h.cacheControl));
  if (h.contentDisposition) reply.header("Content-Disposition", headerSafe(h.contentDisposition));
  if (h.contentEncoding) reply.header("Content-Encoding", headerSafe(h.contentEncoding));
  if (h.contentLanguage) reply.header("Content-Language", headerSafe(h.contentLanguage));
  if (h.expires) reply.header("Expires", headerSafe(h.expires));
  for (const [k, v] of Object.entries(md?.user ?? {})) reply.header(`x-amz-meta-${k}`, headerSafe(v));
  if (opts.partsCount !== undefined) reply.header("x-amz-mp-parts-count", String(opts.partsCount));
  if (opts.checksums && md?.checksums) {
    for (const a of CHECKSUM_ALGORITHMS) {
      const v = md.checksums[a];
      if (v)
        reply.header(checksumHeader(a), md.checksumType === "COMPOSITE" ? `${v}-${opts.partsCount ?? 1}` : v);
    }
    if (md.checksumType) reply.header("x-amz-checksum-type", md.checksumType);
  }
}

const OVERRIDES: ReadonlyArray<[string, string]> = [
  ["response-content-type", "Content-Type"],
  ["response-content-language", "Content-Language"],
  ["response-expires", "Expires"],
  ["response-cache-control", "Cache-Control"],
  ["response-content-disposition", "Content-Disposition"],
  ["response-content-encoding", "Content-Encoding"],
];

/** GetObject's response-* query parameters, which replace the stored headers in this answer. */
export function applyResponseOverrides(reply: FastifyReply, query: ReadonlyMap<string, string>): void {
  for (const [param, header] of OVERRIDES) {
    const v = query.get(param);
    if (v !== undefined) reply.header(header, headerSafe(v));
  }
}

function etagList(v: string): string[] {
  return v.split(",").map((s) => s.trim().replace(/^W\//, ""));
}

function matches(list: string[], etag: string): boolean {
  const bare = etag.replace(/^"(.*)"$/, "$1");
  return list.some((e) => e === "*" || e === etag || e.replace(/^"(.*)"$/, "$1") === bare);
}

function date(v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/**
 * The conditional headers of a read (RFC 9110 §13.2.2, as S3 applies them): a failed If-Match or
 * If-Unmodified-Since is 412; a matching If-None-Match, or an object not modified since
 * If-Modified-Since, is 304. Dates are compared to the second.
 */
export function checkReadConditions(h: HeaderIndex, etag: string, modified: Date): void {
  const seconds = Math.floor(modified.getTime() / 1000) * 1000;
  const im = h.get("if-match");
  const ius = date(h.get("if-unmodified-since"));
  if (im !== undefined) {
    if (!matches(etagList(im), etag))
      throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Match" });
  } else if (ius !== null && seconds > ius)
    throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Unmodified-Since" });
  const inm = h.get("if-none-match");
  const ims = date(h.get("if-modified-since"));
  if (inm !== undefined) {
    if (matches(etagList(inm), etag)) throw notModified(etag, modified);
  } else if (ims !== null && seconds <= ims) throw notModified(etag, modified);
}

/**
 * Whether a Range may be served under `If-Range` (RFC 9110 §13.1.5): only for the very object the
 * client named, by its strong ETag or its exact Last-Modified (to the second); anything else (another
 * ETag, a weak one, an older date, garbage) gets the whole object, so a resumed download never
 * joins two versions.
 */
export function ifRangeHolds(v: string, etag: string, modified: Date): boolean {
  const value = v.trim();
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith("W/")) return false;
  const t = date(value);
  return t !== null && t === Math.floor(modified.getTime() / 1000) * 1000;
}

function notModified(etag: string, modified: Date): S3Error {
  return new S3Error("NotModified", undefined, {}, { ETag: etag, "Last-Modified": modified.toUTCString() });
}

/** The conditional headers of a write: `If-None-Match: *` and `If-Match: <etag>` (S3's conditional writes). */
export function writeConditionOf(h: HeaderIndex): { ifNoneMatch?: boolean; ifMatch?: string[] } {
  const inm = h.get("if-none-match");
  const im = h.get("if-match");
  const cond: { ifNoneMatch?: boolean; ifMatch?: string[] } = {};
  if (inm !== undefined) {
    if (inm.trim() !== "*") throw new S3Error("NotImplemented", "A write takes only If-None-Match: *.");
    cond.ifNoneMatch = true;
  }
  if (im !== undefined) cond.ifMatch = etagList(im);
  return cond;
}
