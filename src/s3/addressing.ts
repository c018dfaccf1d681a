// Where an S3 request points: a bucket and a key, from the path (path-style, always) or from the
// Host header under SSE_S3_DOMAIN (virtual-hosted style, `bucket.s3.example.com`).

export interface S3Address {
  /** null: the service itself (ListBuckets). */
  bucket: string | null;
  /** null: the bucket itself; otherwise the key, decoded (may be any UTF-8, even empty after a `/`). */
  key: string | null;
}

/** The host without its port, lowercased; IPv6 literals keep their brackets. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The bucket a Host of `<bucket>.<domain>` names (virtual-hosted style), or undefined. */
export function hostBucket(host: string | undefined, domain: string | undefined): string | undefined {
  if (!domain || !host) return undefined;
  const name = hostName(host);
  const suffix = `.${domain.toLowerCase()}`;
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : undefined;
}

/**
 * `path` is the decoded path (no query). With `domain` set and a Host of `<bucket>.<domain>`, the
 * bucket is the host's first label and the whole path is the key; otherwise path-style.
 */
export function resolveAddress(
  path: string,
  host: string | undefined,
  domain: string | undefined,
): S3Address {
  const bucket = hostBucket(host, domain);
  if (bucket !== undefined) {
    const key = path.startsWith("/") ? path.slice(1) : path;
    return { bucket, key: key === "" ? null : key };
  }
  const rest = path.startsWith("/") ? path.slice(1) : path;
  if (rest === "") return { bucket: null, key: null };
  const slash = rest.indexOf("/");
  if (slash < 0) return { bucket: rest, key: null };
  const key = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), key: key === "" ? null : key };
}
