// What the log (and a 404's detail) may show of a request URL: never the query (it may carry
// secrets) and never a download link's token. The matched route decides, not the raw URL: the
// router decodes `/%6cinks/…` to `/links/…`, so a pattern on the raw spelling misses it.
import type { FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The path carries a secret (a link token): the log shows only the route pattern. */
    redactPath?: boolean;
  }
}

export const REDACTED = "[redacted]";

/** The parts of a request the redaction looks at (FastifyRequest has them all). */
export type PathSource = Pick<FastifyRequest, "url"> & {
  routeOptions?: { url?: string; config?: { redactPath?: boolean } };
};

/** How many times a segment is percent-decoded: `%256c` is `%6c` once, `l` twice. */
const DECODE_ROUNDS = 3;

/** Percent-decodes what decodes and keeps the rest, so that a malformed escape hides nothing. */
function looselyDecoded(segment: string): string {
  let s = segment;
  for (let i = 0; i < DECODE_ROUNDS; i++) {
    const next = s.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === s) break;
    s = next;
  }
  return s;
}

/** A segment that reads `links` once decoded, in any case, whatever follows that is not a letter or digit. */
function isLinksSegment(raw: string): boolean {
  return looselyDecoded(raw)
    .split(/[/\\]/)
    .some((part) => /^\s*links(?![a-z0-9])/i.test(part));
}

/**
 * A path cut after any segment that decodes to `links`: for requests no secret route matched, so
 * that a token sent under an odd spelling (`/LINKS%2F…`, `/a/links/…`) is never logged either.
 */
export function pathWithoutLinkTokens(path: string): string {
  const segments = path.split("/");
  const at = segments.findIndex(isLinksSegment);
  if (at < 0) return path;
  return `${segments.slice(0, at).join("/")}/links/${REDACTED}`;
}

export function loggablePath(req: PathSource): string {
  const route = req.routeOptions?.url;
  // Every parameter of a secret route's pattern is hidden, whatever the client spelled.
  if (route !== undefined && req.routeOptions?.config?.redactPath)
    return route.replace(/\*|:[^/]+/g, REDACTED);
  return pathWithoutLinkTokens(req.url.split("?", 1)[0] ?? "");
}
