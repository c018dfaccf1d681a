// SSE_WORKERS > 1: one primary process and that many workers sharing the API and S3 ports through
// Node's cluster (the primary accepts and hands connections round-robin). The primary does what
// must happen once (the ports checked, migrations, the key provider's start-up checks, the admin
// and its token file, uploads and leases left by the last run), forks, announces the URLs once,
// restarts a worker that dies, and owns the signals: workers ignore SIGTERM/SIGINT (a signal to
// the process group reaches them too) and stop when the primary tells them, so none drains twice.
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { WorkerRole } from "./app.js";
import { AuthService } from "./auth/auth-service.js";
import { Credentials } from "./auth/credential-cache.js";
import { UserService } from "./auth/user-service.js";
import { closeAndExit } from "./close-and-exit.js";
import type { Config } from "./config.js";
import { Backoff } from "./failure-log.js";
import { KeyService } from "./keys/key-service.js";
import { createRootKeyProvider } from "./keys/providers.js";
import type { RootKeyProvider } from "./keys/root-key-provider.js";
import type { RunningServer, ShutdownResult } from "./main.js";
import { checkCanListen } from "./port-check.js";
import { openStores } from "./store/open-store.js";

/** Messages between the primary and its workers (IPC); prom-client's own go beside them. */
type ToPrimary =
  | { type: "sse:listening"; url: string; s3Url: string | null }
  | { type: "sse:metrics"; id: number };
type ToWorker =
  | { type: "sse:stop" }
  | { type: "sse:abort" }
  | { type: "sse:metrics"; id: number; text?: string; error?: string };

/** A worker restarted after a crash waits this long at first, doubling while it keeps crashing. */
const RESTART_INITIAL_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that served this long before it died starts the backoff over. */
const RESTART_STABLE_MS = 60_000;

function isMessage<T extends { type: string }>(msg: unknown): msg is T {
  return typeof msg === "object" && msg !== null && typeof (msg as { type?: unknown }).type === "string";
}

/**
 * The primary's once-only steps before any worker opens the stores. Alone on the files, it may
 * free job leases and sweep interrupted uploads as a lone process does. Returns the key provider's name.
 */
async function prepareOnce(config: Config, logger: Logger): Promise<string> {
  await checkCanListen(config.host, config.port);
  if (config.s3Port > 0) await checkCanListen(config.host, config.s3Port, "SSE_S3_PORT");
  const stores = await openStores(config, logger);
  let root: RootKeyProvider | undefined;
  try {
    root = createRootKeyProvider({ config, logger });
    await root.open();
    const keys = new KeyService(stores.keys, root, {
      cacheSize: config.keyCacheSize,
      cacheTtlMs: config.keyCacheTtlSeconds * 1000,
    });
    const credentials = new Credentials();
    const users = new UserService(stores.accounts, stores.objects, keys, logger, credentials);
    await new AuthService(stores.accounts, users, logger, credentials).bootstrap({
      token: config.bootstrapToken,
      dataDir: config.dataDir,
    });
    const swept = await stores.objects.sweepAbandonedUploads();
    if (swept > 0) logger.info({ uploads: swept }, "reclaimed interrupted uploads");
    await stores.objects.reclaim(new Set());
    return root.name;
  } finally {
    await root?.close().catch((err) => logger.error({ err }, "closing the key provider failed"));
    await stores.close();
  }
}

export interface PrimaryStarted {
  server: RunningServer;
  url: string;
  s3Url: string | null;
  keyProvider: string;
}

/**
 * Runs the primary: the once-only steps, then `config.workers` workers. Resolves once every worker
 * listens; rejects (workers stopped) when the steps fail or a worker dies before it listens.
 */
export async function startPrimary(config: Config, logger: Logger): Promise<PrimaryStarted> {
  const keyProvider = await prepareOnce(config, logger);
  // Answers the workers' /metrics with every worker's registry, added up.
  const aggregator = new AggregatorRegistry();
  const live = new Set<Worker>();
  const started = new Map<Worker, number>();
  const backoff = new Backoff({ initialMs: RESTART_INITIAL_MS, maxMs: RESTART_MAX_MS });
  let stopping = false;
  let ready = false;
  let clean = true;
  let allExited: (() => void) | null = null;
  let restartTimer: NodeJS.Timeout | undefined;

  let startFailed!: (err: Error) => void;
  let listening!: (info: { url: string; s3Url: string | null }) => void;
  const whenListening = new Promise<{ url: string; s3Url: string | null }>((resolve, reject) => {
    listening = resolve;
    startFailed = reject;
  });
  const listeningWorkers = new Set<Worker>();
  let first: { url: string; s3Url: string | null } | null = null;

  const fork = (): Worker => {
    const w = cluster.fork();
    live.add(w);
    started.set(w, performance.now());
    w.on("message", (msg: unknown) => {
      if (!isMessage<ToPrimary>(msg)) return;
      if (msg.type === "sse:listening") {
        first ??= { url: msg.url, s3Url: msg.s3Url };
        listeningWorkers.add(w);
        if (!ready && listeningWorkers.size === config.workers) {
          ready = true;
          listening(first);
        }
      } else if (msg.type === "sse:metrics") {
        const reply = (m: ToWorker) => {
          if (w.isConnected()) w.send(m);
        };
        aggregator.clusterMetrics().then(
          (text) => reply({ type: "sse:metrics", id: msg.id, text }),
          (err: Error) => reply({ type: "sse:metrics", id: msg.id, error: err.message }),
        );
      }
    });
    // A message to a worker that just died fails (EPIPE) before its exit is seen: the exit handles it.
    w.on("error", (err) => logger.debug({ err, worker: w.id }, "a message could not reach a worker"));
    w.on("exit", (code, signal) => {
      live.delete(w);
      listeningWorkers.delete(w);
      const lived = performance.now() - (started.get(w) ?? 0);
      started.delete(w);
      if (stopping) {
        if (code !== 0) clean = false;
        if (live.size === 0) allExited?.();
        return;
      }
      const pid = w.process.pid;
      if (!ready && (signal === "SIGTERM" || signal === "SIGINT")) {
        // Workers ignore signals once they run: this one was still starting when a signal to the
        // process group reached it, which asks the whole server to stop, not a failure.
        logger.info(
          { worker: w.id, signal },
          "a stop signal reached the workers while they started: stopping",
        );
        stopping = true;
        for (const other of live) {
          if (other.isConnected()) other.send({ type: "sse:stop" } satisfies ToWorker);
          else other.process.kill("SIGKILL");
        }
        startFailed(new StartCancelled(signal));
        return;
      }
      if (!ready) {
        logger.error({ worker: w.id, pid, code, signal }, "a worker exited before it listened");
        stopping = true;
        clean = false;
        for (const other of live) other.process.kill("SIGKILL");
        startFailed(
          new Error(`a worker exited before it listened (exit code ${code ?? signal}); see its log`),
        );
        return;
      }
      if (lived >= RESTART_STABLE_MS) backoff.reset();
      const delayMs = backoff.next();
      logger.error(
        { worker: w.id, pid, code, signal, restartInMs: delayMs },
        "a worker died; starting another in its place",
      );
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) fork();
      }, delayMs);
    });
    return w;
  };

  for (let i = 0; i < config.workers; i++) fork();
  const { url, s3Url } = await whenListening;

  const send = (m: ToWorker) => {
    for (const w of live) if (w.isConnected()) w.send(m);
  };
  const shutdown = async (): Promise<ShutdownResult> => {
    stopping = true;
    clearTimeout(restartTimer);
    const exited = new Promise<void>((resolve) => {
      allExited = resolve;
    });
    if (live.size === 0) return { clean };
    send({ type: "sse:stop" });
    await exited;
    if (clean) logger.info("every worker stopped");
    else logger.error("the workers stopped, but not all cleanly: see the errors above");
    return { clean };
  };
  let closing: Promise<ShutdownResult> | null = null;
  const server: RunningServer = {
    url,
    s3Url,
    shutdownTimeoutMs: config.shutdownTimeoutSeconds * 1000,
    close: () => (closing ??= shutdown()),
    abortRequests: () => send({ type: "sse:abort" }),
  };
  return { server, url, s3Url, keyProvider };
}

/** The start was stopped by a signal before every worker listened: an orderly stop, exit 0. */
export class StartCancelled extends Error {
  override name = "StartCancelled";
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal} while starting`);
  }
}

/** A worker's side of the cluster: its role for build(), and the primary's orders. */
export function workerRole(config: Config): WorkerRole & { share(registry: Registry): void } {
  // Answers the primary's requests for this worker's metrics (prom-client's own messages).
  new AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on("message", (msg: unknown) => {
    if (!isMessage<ToWorker>(msg) || msg.type !== "sse:metrics") return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.text !== undefined) p.resolve(msg.text);
    else p.reject(new Error(msg.error ?? "the primary did not collect the metrics"));
  });
  return {
    count: config.workers,
    share: (registry) => AggregatorRegistry.setRegistries([registry]),
    metrics: () =>
      new Promise<string>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        process.send?.({ type: "sse:metrics", id } satisfies ToPrimary);
      }),
  };
}

/** Tells the primary this worker listens; the primary announces the URLs once all do. */
export function reportListening(url: string, s3Url: string | null): void {
  process.send?.({ type: "sse:listening", url, s3Url } satisfies ToPrimary);
}

/**
 * A worker from its first moment: signals are the primary's to interpret (the group's copies are
 * ignored here); the primary's orders are obeyed, stop (graceful, then exit 0, or 1 if not clean)
 * and abort (cut the requests still open); and a primary that is gone stops the worker too, since
 * it owns the listening sockets: no connection could reach the worker any more. obey() hands over
 * the server once it runs; an order or a loss that came while it started is carried out then.
 */
export function attachToPrimary(logger: Logger): { obey(server: RunningServer): void } {
  const ignore = (signal: NodeJS.Signals) =>
    logger.debug({ signal }, "signal left to the primary process, which stops the workers");
  process.on("SIGTERM", ignore);
  process.on("SIGINT", ignore);
  let server: RunningServer | null = null;
  let stopping = false;
  const stop = (why: string) => {
    if (stopping || !server) return;
    stopping = true;
    logger.info(`${why}: this worker finishes its requests and stops`);
    closeAndExit(server, logger);
  };
  const primaryGone = () => {
    if (server) return stop("the primary process is gone");
    // Nothing was served yet: there is nothing to finish.
    logger.info("the primary process stopped while this worker was starting; exiting");
    process.exit(0);
  };
  process.on("disconnect", primaryGone);
  // A message to a primary that is gone fails (EPIPE, or the channel closed): the same news. Node
  // emits it on the process, where no listener would make it an uncaught exception.
  process.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_IPC_CHANNEL_CLOSED") return primaryGone();
    logger.fatal({ err }, "uncaught exception");
    process.exit(1);
  });
  process.on("message", (msg: unknown) => {
    if (!isMessage<ToWorker>(msg)) return;
    if (msg.type === "sse:abort") server?.abortRequests();
    if (msg.type === "sse:stop") {
      if (server) stop("the primary asked this worker to stop");
      else {
        logger.info("asked to stop while starting; exiting");
        process.exit(0);
      }
    }
  });
  return {
    obey(s) {
      server = s;
      if (!process.connected) primaryGone();
    },
  };
}
