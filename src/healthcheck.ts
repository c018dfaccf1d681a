// The container's health check (the Dockerfile's HEALTHCHECK runs `node dist/healthcheck.js`):
// GET /ready on the listener this process's settings describe. Exit 0 when ready, 1 otherwise.
import { isIPv6 } from "node:net";
import { pathToFileURL } from "node:url";

/** Where to reach the server from inside its own machine or container. */
export function readyUrl(env: Record<string, string | undefined>): string {
  const port = env.SSE_PORT || "8000";
  let host = (env.SSE_HOST || "127.0.0.1").trim();
  // A wildcard address is not one to connect to: its loopback is (IPv6's accepts only IPv6).
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  host = host.replace(/^\[(.*)\]$/, "$1");
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}/ready`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  fetch(readyUrl(process.env), { signal: AbortSignal.timeout(4000) }).then(
    (r) => process.exit(r.ok ? 0 : 1),
    () => process.exit(1),
  );
}
