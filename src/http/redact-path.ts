// What the log may show of a request URL: never the query (it may carry secrets) and nothing after
// `/links/`, where a download link carries its token (in whatever spelling the client sent it).
export function loggablePath(url: string): string {
  const path = url.split("?")[0] ?? "";
  return path.replace(/\/links(?:\/|%2f).*$/i, "/links/[redacted]");
}
