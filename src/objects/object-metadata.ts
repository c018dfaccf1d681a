// What an object's sealed metadata record holds (docs/FORMAT.md, "Sealed records", purpose 2): kept
// encrypted and authenticated under the write's data key, never in clear. Written by S3 writes,
// which have headers, user metadata and a plaintext MD5 to keep; the native API's writes have none.

/** Response headers S3 stores with an object and serves back. */
export interface StoredHeaders {
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  expires?: string;
}

export interface ObjectMetadata {
  /** Authenticated copy of the content type (the row's column is in clear and unauthenticated). */
  contentType: string;
  headers?: StoredHeaders;
  /** x-amz-meta-* of the write: lower-case names without the prefix, values as sent. */
  user?: Record<string, string>;
  /** The S3 ETag, unquoted: the plaintext's MD5 (hex), or `md5-of-md5s-N` for a multipart object. */
  etag?: string;
  /** Checksums of the plaintext by algorithm (crc32, crc32c, crc64nvme, sha1, sha256), base64. */
  checksums?: Record<string, string>;
  /** A multipart object's checksums are of each part, then of those: S3's COMPOSITE type. */
  checksumType?: "FULL_OBJECT" | "COMPOSITE";
}

/** Refuses what could not have been sealed by this server (the record authenticated, so: damage). */
export function isObjectMetadata(v: unknown): v is ObjectMetadata {
  if (v === null || typeof v !== "object") return false;
  const m = v as ObjectMetadata;
  const strings = (o: unknown) =>
    o === undefined ||
    (o !== null && typeof o === "object" && Object.values(o).every((x) => typeof x === "string"));
  return (
    typeof m.contentType === "string" &&
    strings(m.headers) &&
    strings(m.user) &&
    strings(m.checksums) &&
    (m.etag === undefined || typeof m.etag === "string")
  );
}
