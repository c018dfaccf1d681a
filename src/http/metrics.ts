// Prometheus metrics: one registry per app (so several apps in one process never clash), HTTP
// hooks that time every request and count its bytes on the wire, and the domain's counters.
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { hashToken, tokenMatches } from "../auth/token-format.js";
import type { DomainMetrics, JobOutcome } from "../domain-metrics.js";
import { AppError } from "../errors.js";
import type { SpaceState, SpaceStatus } from "../objects/storage-reserve.js";
import { problemResponses } from "./openapi.js";

/** Read at scrape time: the key service's cache keeps its own counts. */
export interface KeyCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

/** Seconds; uploads and downloads of large objects take minutes, probes take microseconds. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** The route label of requests that matched no route: never the raw URL, which would explode cardinality. */
export const UNMATCHED_ROUTE = "unmatched";

const MiB = 1024 * 1024;

/**
 * Bytes as a metric may count them: each write or request on its own, to the nearest whole MiB.
 * Exact counts let whoever scrapes before and after a write read its size (and a size names a
 * known file); rounding each one, not the running total, leaves no remainder to calibrate
 * against. Nearest rather than up, so that the many small requests add nothing instead of a
 * MiB each: volume stays right where it is, in the large transfers.
 */
export function coarseBytes(n: number): number {
  return Math.round(n / MiB) * MiB;
}

export class ServiceMetrics implements DomainMetrics {
  readonly registry = new Registry();
  readonly #duration: Histogram<"method" | "route" | "status">;
  readonly #inFlight: Gauge<"method" | "route">;
  readonly #received: Counter<"route">;
  readonly #sent: Counter<"route">;
  readonly #authFailures: Counter<"reason">;
  readonly #integrityFailures: Counter;
  readonly #stored: Counter<"result">;
  readonly #storedBytes: Counter;
  readonly #deleted: Counter;
  readonly #jobsRunning: Gauge<"kind">;
  readonly #jobsFinished: Counter<"kind" | "state">;

  constructor(version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges say how they add up over the workers of one server (SSE_WORKERS; cluster.ts).
    new Gauge({
      name: "sse_build_info",
      help: "Always 1; the version label says which release runs",
      labelNames: ["version"],
      registers,
      aggregator: "first",
    }).set({ version }, 1);
    new Gauge({
      name: "sse_workers",
      help: "Server processes whose metrics this scrape adds up (SSE_WORKERS)",
      registers,
    }).set(1);
    this.#duration = new Histogram({
      name: "sse_http_request_duration_seconds",
      help: "Time from the request's arrival to the end of its response, by route pattern and status (aborted: the connection closed first)",
      labelNames: ["method", "route", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({
      name: "sse_http_requests_in_flight",
      help: "Requests being served now",
      labelNames: ["method", "route"],
      registers,
    });
    this.#received = new Counter({
      name: "sse_http_received_bytes_total",
      help: "Bytes read from clients' connections (request line, headers and body), by route pattern; each request counted to the nearest whole MiB",
      labelNames: ["route"],
      registers,
    });
    this.#sent = new Counter({
      name: "sse_http_sent_bytes_total",
      help: "Bytes written to clients' connections (status line, headers and body), by route pattern; each request counted to the nearest whole MiB",
      labelNames: ["route"],
      registers,
    });
    this.#authFailures = new Counter({
      name: "sse_auth_failures_total",
      help: "Requests refused for a missing or invalid bearer token",
      labelNames: ["reason"],
      registers,
    });
    this.#integrityFailures = new Counter({
      name: "sse_integrity_failures_total",
      help: "Stored data or wrapped keys that failed authentication (tampering or corruption)",
      registers,
    });
    this.#stored = new Counter({
      name: "sse_objects_stored_total",
      help: "Objects and items committed, by whether they were created or replaced",
      labelNames: ["result"],
      registers,
    });
    this.#storedBytes = new Counter({
      name: "sse_objects_stored_bytes_total",
      help: "Plaintext bytes of the objects committed; each write counted to the nearest whole MiB",
      registers,
    });
    this.#deleted = new Counter({
      name: "sse_objects_deleted_total",
      help: "Objects and items deleted",
      registers,
    });
    this.#jobsRunning = new Gauge({
      name: "sse_jobs_running",
      help: "Background jobs running in this process",
      labelNames: ["kind"],
      registers,
    });
    this.#jobsFinished = new Counter({
      name: "sse_jobs_finished_total",
      help: "Background jobs this process stopped running, by kind and state (done, failed, interrupted)",
      labelNames: ["kind", "state"],
      registers,
    });
  }

  /** Exposes the key cache's own counters, read at each scrape. */
  observeKeyCache(cache: KeyCacheStats): void {
    const registers = [this.registry];
    new Counter({
      name: "sse_key_cache_hits_total",
      help: "Lookups of an unwrapped key-encryption key served from memory",
      registers,
      collect() {
        this.reset();
        this.inc(cache.hits);
      },
    });
    new Counter({
      name: "sse_key_cache_misses_total",
      help: "Lookups of a key-encryption key that needed the key store and the root key",
      registers,
      collect() {
        this.reset();
        this.inc(cache.misses);
      },
    });
    new Gauge({
      name: "sse_key_cache_entries",
      help: "Unwrapped key-encryption keys held in memory",
      registers,
      collect() {
        this.set(cache.size);
      },
    });
  }

  /** Exposes the free space, the reserve and whether uploads are accepted, read at each scrape. */
  observeSpace(space: SpaceStatus): void {
    const registers = [this.registry];
    new Gauge({
      name: "sse_storage_writable",
      help: "1 while uploads are accepted; 0 while free space is below the reserve or the disk is full (uploads answer 507)",
      registers,
      aggregator: "min",
      async collect() {
        this.set((await space.current()).writable ? 1 : 0);
      },
    });
    // PostgreSQL keeps the data on its own server: no volume of ours to report.
    if (!space.volume) return;
    const figure = (name: string, help: string, pick: (s: SpaceState) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        // Every worker measures the same volume.
        aggregator: "max",
        async collect() {
          this.set(pick(await space.current()) ?? 0);
        },
      });
    figure(
      "sse_storage_free_bytes",
      "Free bytes of the data directory's volume (available to the server, as statfs says)",
      (s) => s.availableBytes,
    );
    figure(
      "sse_storage_reusable_bytes",
      "Free pages inside objects.db, which new writes fill before the file grows (deleted objects end up here)",
      (s) => s.reusableBytes,
    );
    figure(
      "sse_storage_reserve_bytes",
      "The reserve (SSE_MIN_FREE_BYTES): uploads that would bring the free space below it are refused",
      (s) => s.reserveBytes,
    );
    figure(
      "sse_backup_hold_seconds",
      "How long the backup hold (backup-hold in the data directory) has been in place, 0 without one: while it is, replaced and deleted data keeps its space",
      (s) => s.backupHoldSeconds,
    );
  }

  authFailure(reason: string): void {
    this.#authFailures.inc({ reason });
  }

  integrityFailure(): void {
    this.#integrityFailures.inc();
  }

  objectStored(created: boolean, bytes: number): void {
    this.#stored.inc({ result: created ? "created" : "replaced" });
    this.#storedBytes.inc(coarseBytes(bytes));
  }

  objectDeleted(): void {
    this.#deleted.inc();
  }

  jobStarted(kind: string): void {
    this.#jobsRunning.inc({ kind });
  }

  jobFinished(kind: string, outcome: JobOutcome): void {
    this.#jobsRunning.dec({ kind });
    this.#jobsFinished.inc({ kind, state: outcome });
  }

  /** Starts timing a request; the returned function ends it. */
  requestStarted(method: string, route: string): (status: string, received: number, sent: number) => void {
    const started = process.hrtime.bigint();
    this.#inFlight.inc({ method, route });
    return (status, received, sent) => {
      this.#inFlight.dec({ method, route });
      this.#duration.observe({ method, route, status }, Number(process.hrtime.bigint() - started) / 1e9);
      const inBytes = coarseBytes(received);
      const outBytes = coarseBytes(sent);
      if (inBytes > 0) this.#received.inc({ route }, inBytes);
      if (outBytes > 0) this.#sent.inc({ route }, outBytes);
    };
  }
}

/** Wire bytes already attributed to earlier requests on a kept-alive connection. */
const counted = new WeakMap<Socket, { read: number; written: number }>();

/** Bytes a connection carried since its previous response ended: this request's share. */
function socketDelta(socket: Socket | undefined): { read: number; written: number } {
  // Injected requests (tests) have no real socket: nothing crossed a wire.
  if (!socket || typeof socket.bytesRead !== "number") return { read: 0, written: 0 };
  const prev = counted.get(socket) ?? { read: 0, written: 0 };
  const now = { read: socket.bytesRead, written: socket.bytesWritten };
  counted.set(socket, now);
  return { read: now.read - prev.read, written: now.written - prev.written };
}

export interface MetricsRouteOptions {
  metrics: ServiceMetrics;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`; unset, only loopback clients get it. */
  token?: string;
  /** With workers (SSE_WORKERS): every worker's metrics added up, in Prometheus text (cluster.ts). */
  collect?: () => Promise<string>;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|::ffff:127(?:\.\d{1,3}){3})$/i;
/** Headers a proxy adds: a request carrying one came from elsewhere, whatever socket it arrived on. */
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"] as const;

/** A client on this machine, by the socket's own address (never a header), and not relayed by a proxy. */
function isLocalClient(req: FastifyRequest): boolean {
  const address = req.raw.socket?.remoteAddress;
  if (address === undefined || !LOOPBACK.test(address)) return false;
  return FORWARDING_HEADERS.every((h) => req.headers[h] === undefined);
}

/** Times every request and counts its wire bytes; register it before any route. */
export const metricsPlugin = fp(async (app: FastifyInstance, opts: { metrics: ServiceMetrics }) => {
  const { metrics } = opts;
  app.addHook("onRequest", (req, reply, next) => {
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    const done = metrics.requestStarted(req.method, route);
    // 'finish' when the response was written whole, 'close' without it when it was cut: counted
    // for cut responses too, unlike Fastify's onResponse.
    const res = reply.raw;
    let ended = false;
    const end = (status: string) => {
      if (ended) return;
      ended = true;
      res.off("finish", onFinish);
      res.off("close", onClose);
      const bytes = socketDelta(req.raw.socket);
      done(status, bytes.read, bytes.written);
    };
    const onFinish = () => end(String(res.statusCode));
    const onClose = () => end(res.writableFinished ? String(res.statusCode) : "aborted");
    res.once("finish", onFinish);
    res.once("close", onClose);
    next();
  });
});

/** GET /metrics; register it after the docs plugin so that it appears in the OpenAPI document. */
export async function metricsRoute(app: FastifyInstance, opts: MetricsRouteOptions): Promise<void> {
  const { metrics } = opts;
  const expected = opts.token === undefined ? null : hashToken(opts.token);
  app.get(
    "/metrics",
    {
      config: { public: true },
      schema: {
        tags: ["system"],
        summary: "Prometheus metrics (text format)",
        description:
          "With SSE_METRICS_TOKEN set, needs `Authorization: Bearer <SSE_METRICS_TOKEN>` (user tokens are not accepted), from any address. Without it, served only to clients on the server's own machine (a loopback socket address, and no Forwarded, X-Forwarded-For or X-Real-IP header): 403 otherwise. No metric reveals the size of one object: byte counts move in whole MiB per request.",
        response: {
          ...problemResponses(401, 403),
          200: {
            description: "Prometheus text exposition format",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    async (req, reply) => {
      if (expected) {
        const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
        if (!m || !tokenMatches(m[1]!, expected)) {
          metrics.authFailure(m ? "invalid" : "missing");
          throw new AppError("unauthorized", "the metrics need the SSE_METRICS_TOKEN bearer token", {
            "WWW-Authenticate": 'Bearer realm="sse-store-metrics"',
          });
        }
      } else if (!isLocalClient(req))
        throw new AppError(
          "forbidden",
          "without SSE_METRICS_TOKEN, /metrics is served only to clients on the server's own machine",
        );
      reply.type(metrics.registry.contentType);
      return opts.collect ? opts.collect() : metrics.registry.metrics();
    },
  );
}
