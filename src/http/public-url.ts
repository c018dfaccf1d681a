// The base URL that download links are built on. A client's Host header never decides it: a
// link made while someone sends `Host: evil.example` would send its receiver (and the token in
// it) to evil.example. Order: SSE_PUBLIC_URL; with SSE_TRUST_PROXY, what the one trusted proxy
// says (X-Forwarded-Proto/-Host, else Host); otherwise the address the server listens on. In
// production (NODE_ENV=production) only SSE_PUBLIC_URL: links are refused without it.
import type { FastifyRequest } from "fastify";
import { AppError } from "../errors.js";

export interface PublicUrlOptions {
  /** SSE_PUBLIC_URL. */
  publicUrl?: string;
  /** SSE_TRUST_PROXY: the proxy in front sets X-Forwarded-Proto and X-Forwarded-Host (or Host). */
  trustProxy: boolean;
  /** SSE_HOST, the configured listen address. */
  listenHost: string;
  /** NODE_ENV=production. */
  production: boolean;
}

/** host or [IPv6], and an optional port: nothing that could carry a path, credentials or a second URL. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
const WILDCARD = new Set(["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]);

function hostForUrl(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** The listen address: the configured host, or for a wildcard one the local address this connection reached. */
function listenAddress(req: FastifyRequest, listenHost: string): string {
  const socket = req.raw.socket;
  const host =
    WILDCARD.has(listenHost) || listenHost === "" ? (socket?.localAddress ?? "127.0.0.1") : listenHost;
  const port = socket?.localPort;
  return port ? `${hostForUrl(host)}:${port}` : hostForUrl(host);
}

function fromProxy(req: FastifyRequest): string {
  // Fastify reads X-Forwarded-Proto/-Host only from the trusted hop (app.ts), else the socket and Host.
  const proto = req.protocol;
  const host = req.host;
  if (proto !== "http" && proto !== "https")
    throw new AppError("invalid_header", "X-Forwarded-Proto must be http or https");
  if (!HOST.test(host)) throw new AppError("invalid_header", "the forwarded host is not a valid host[:port]");
  return `${proto}://${host.toLowerCase()}`;
}

export function linkBaseUrl(req: FastifyRequest, opts: PublicUrlOptions): string {
  if (opts.publicUrl) return opts.publicUrl.replace(/\/+$/, "");
  if (opts.production)
    throw new AppError(
      "public_url_required",
      "this server makes download links only once SSE_PUBLIC_URL is set (NODE_ENV=production)",
    );
  if (opts.trustProxy) return fromProxy(req);
  return `http://${listenAddress(req, opts.listenHost)}`;
}
