// The process: read config, open stores and the key provider, build, listen, shut down gracefully.
import cluster from "node:cluster";
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { build, type WorkerRole } from "./app.js";
import { BOOTSTRAP_TOKEN_FILE } from "./auth/auth-service.js";
import { closeAndExit } from "./close-and-exit.js";
import { attachToPrimary, reportListening, StartCancelled, startPrimary, workerRole } from "./cluster.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { chooseCipher } from "./crypto/cipher-choice.js";
import { Backoff, FailureLog } from "./failure-log.js";
import { createRootKeyProvider } from "./keys/providers.js";
import type { RootKeyProvider } from "./keys/root-key-provider.js";
import { createLogger, readableLogs } from "./logger.js";
import { checkCanListen, listenError } from "./port-check.js";
import { SIGNAL_QUIET_PERIOD_MS, signalClassifier } from "./second-signal.js";
import { type StartInfo, startBanner, startRecord } from "./start-banner.js";
import { openStores } from "./store/open-store.js";
import type { Stores } from "./store/stores.js";
import { VERSION } from "./version.js";

export { createLogger, REDACT_PATHS } from "./logger.js";

export interface ShutdownResult {
  /** False when the deadline cut requests short or a store failed to close. */
  clean: boolean;
}

/** How often abandoned uploads are swept and unread replaced writes reclaimed. */
const MAINTENANCE_INTERVAL_MS = 60_000;
/** The longest pause between sweeps while they fail. */
const MAINTENANCE_MAX_BACKOFF_MS = 16 * 60_000;

export interface RunningServer {
  url: string;
  /** The S3 API's URL, or null when SSE_S3_PORT is 0. */
  s3Url: string | null;
  /** Milliseconds in-flight requests get once close() is called (SSE_SHUTDOWN_TIMEOUT). */
  shutdownTimeoutMs: number;
  /** Stops accepting, lets in-flight requests finish (until the deadline), closes the stores. */
  close(): Promise<ShutdownResult>;
  /** Cuts the connections still open now, without waiting for the deadline (a second signal). */
  abortRequests(): void;
}

export interface RunOptions {
  /** Print the start banner for a terminal instead of the one JSON "listening" record. */
  banner?: boolean;
  /**
   * One of several workers (SSE_WORKERS, cluster.ts): the primary checked the ports, created the
   * admin and announces the URLs; the stores are shared with the other workers.
   */
  worker?: WorkerRole & { share(registry: Registry): void };
}

/** What the banner or the start record says. */
function startInfo(
  config: Config,
  url: string,
  s3Url: string | null,
  keyProvider: string,
  cipher: StartInfo["cipher"],
): StartInfo {
  const tokenFile = path.join(config.dataDir, BOOTSTRAP_TOKEN_FILE);
  return {
    version: VERSION,
    url,
    ...(s3Url ? { s3Url } : {}),
    store: config.databaseUrl ? "postgres" : "sqlite",
    dataDir: config.dataDir,
    keyProvider,
    cipher,
    ...(existsSync(tokenFile) ? { tokenFile } : {}),
  };
}

/** The banner (a terminal) or the one "SSE Store listening" record, and what the operator must know. */
function announce(config: Config, logger: Logger, info: StartInfo, banner: boolean | undefined): void {
  if (banner) process.stdout.write(startBanner(info));
  else logger.info(startRecord(info), "SSE Store listening");
  if (config.production && !config.publicUrl)
    logger.warn(
      "NODE_ENV=production and SSE_PUBLIC_URL is not set: download links are refused (501 public_url_required) until it is",
    );
}

export async function runServer(
  config: Config,
  logger: Logger = createLogger(config),
  opts: RunOptions = {},
): Promise<RunningServer> {
  const worker = opts.worker;
  // Before anything is opened or created: a busy port leaves no root key, admin or token file behind.
  // (A worker's primary checked them; the port is its to share.)
  if (!worker) {
    await checkCanListen(config.host, config.port);
    if (config.s3Port > 0) await checkCanListen(config.host, config.s3Port, "SSE_S3_PORT");
  }
  let opened: Stores | undefined;
  let provider: RootKeyProvider | undefined;
  try {
    const stores = await openStores(config, logger, { shared: worker !== undefined });
    opened = stores;
    const root = createRootKeyProvider({ config, logger });
    provider = root;
    await root.open();
    const built = await build(config, { stores, root, logger, ...(worker ? { workers: worker } : {}) });
    worker?.share(built.metrics.registry);
    const { app, services } = built;
    const maintain = async () => {
      // A fresh look at the volume even while idle: a backup hold forgotten for a day is logged.
      await stores.space.current();
      const swept = await services.objects.maintain();
      if (swept > 0) logger.info({ uploads: swept }, "reclaimed interrupted uploads");
      const expired = await services.multipart.sweepExpired(config.s3MultipartTtlSeconds * 1000);
      if (expired > 0)
        logger.info({ uploads: expired }, "aborted multipart uploads older than SSE_S3_MULTIPART_TTL");
    };
    // At start, and not only then: on PostgreSQL another process may die mid-upload, and replaced
    // writes wait out a grace period before they can be reclaimed. A failing sweep (the store down,
    // the disk full: then it must not keep the server from starting) is retried ever later, up to
    // MAINTENANCE_MAX_BACKOFF_MS, and logged without flooding.
    const maintenanceFailures = new FailureLog(logger, "background maintenance");
    const maintenanceBackoff = new Backoff({
      initialMs: MAINTENANCE_INTERVAL_MS,
      maxMs: MAINTENANCE_MAX_BACKOFF_MS,
    });
    let maintenance: NodeJS.Timeout | undefined;
    let maintenanceStopped = false;
    const runMaintenance = async () => {
      let next = MAINTENANCE_INTERVAL_MS;
      try {
        await maintain();
        maintenanceFailures.succeeded();
        maintenanceBackoff.reset();
      } catch (err) {
        maintenanceFailures.failed(err);
        next = maintenanceBackoff.next();
      }
      if (maintenanceStopped) return;
      maintenance = setTimeout(() => void runMaintenance(), next);
      maintenance.unref();
    };
    await runMaintenance();
    if (!worker) await services.auth.bootstrap({ token: config.bootstrapToken, dataDir: config.dataDir });
    // Jobs left running by a previous process (crash, restart) resume here.
    services.runner.start();
    built.audit?.start();
    await app.ready();
    // Fastify logs a "Server listening" line per address; the banner or the record below says it once.
    const level = app.log.level;
    app.log.level = "silent";
    const url = await app
      .listen({ host: config.host, port: config.port })
      .catch((err: NodeJS.ErrnoException) =>
        Promise.reject(listenError(err, config.host, config.port, "SSE_PORT")),
      )
      .finally(() => {
        app.log.level = level;
      });
    let s3Url: string | null = null;
    if (built.s3) {
      const s3 = built.s3.app;
      await s3.ready();
      // As for the native listener: the start record below names the address once.
      const s3Level = s3.log.level;
      s3.log.level = "silent";
      s3Url = await s3
        .listen({ host: config.host, port: config.s3Port })
        .catch((err: NodeJS.ErrnoException) =>
          Promise.reject(listenError(err, config.host, config.s3Port, "SSE_S3_PORT")),
        )
        .finally(() => {
          s3.log.level = s3Level;
        });
    }
    if (worker) reportListening(url, s3Url);
    else announce(config, logger, startInfo(config, url, s3Url, root.name, services.cipher), opts.banner);

    const shutdownTimeoutMs = config.shutdownTimeoutSeconds * 1000;
    let cut = false;
    const abortRequests = () => {
      if (cut) return;
      cut = true;
      app.server.closeAllConnections();
      built.s3?.app.server.closeAllConnections();
    };
    const shutdown = async (): Promise<ShutdownResult> => {
      built.beginShutdown();
      maintenanceStopped = true;
      clearTimeout(maintenance);
      // The steps under way, named in the log if the deadline passes while they still run.
      const pending = new Set<string>();
      const deadline = setTimeout(() => {
        const waitingFor = [...pending];
        app.server.getConnections((_err, connections) => {
          logger.error(
            { seconds: config.shutdownTimeoutSeconds, waitingFor, connections },
            "shutdown deadline passed; cutting the requests still open",
          );
          abortRequests();
        });
      }, shutdownTimeoutMs);
      deadline.unref();
      let clean = true;
      const attempt = async (what: string, fn: () => Promise<void>) => {
        pending.add(what);
        try {
          await fn();
        } catch (err) {
          clean = false;
          logger.error({ err }, `shutdown: ${what} failed`);
        } finally {
          pending.delete(what);
        }
      };
      // Node closes only the connections it counts as idle, once, when close() is called: not one
      // that never sent a whole request, nor one that goes quiet later. Either held the server
      // open until the deadline (exit 1; seen in CI). The quiet ones are closed until it has closed.
      built.closeQuietConnections();
      const sweep = setInterval(() => built.closeQuietConnections(), 200);
      sweep.unref();
      // Every connection closed (in-flight requests finished or were cut), and running jobs
      // stopped at their next checkpoint (they resume from it at the next start).
      await Promise.all([
        attempt("closing the HTTP server", () =>
          Promise.all([app.close(), built.s3?.app.close()])
            .then(() => undefined)
            .finally(() => clearInterval(sweep)),
        ),
        attempt("stopping the background jobs", () => services.runner.stop()),
      ]);
      // Writes whose client went away, and the reclaimer, still use the stores.
      await attempt("finishing background work", () => services.objects.settle());
      await attempt("stopping the read thread", () => services.objects.close());
      // The last events of this process, under a signed checkpoint before the stores close.
      if (built.audit) await attempt("writing the audit checkpoint", () => built.audit!.stop());
      clearTimeout(deadline);
      await attempt("closing the stores", () => stores.close());
      await attempt("closing the key provider", () => root.close());
      if (cut) clean = false;
      if (clean) logger.info("SSE Store stopped");
      else logger.error("SSE Store stopped, but not cleanly: see the errors above");
      return { clean };
    };
    let closing: Promise<ShutdownResult> | null = null;
    return { url, s3Url, shutdownTimeoutMs, close: () => (closing ??= shutdown()), abortRequests };
  } catch (err) {
    await opened?.close().catch(() => undefined);
    await provider?.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Until release(), SIGTERM and SIGINT are noted instead of ending the process at once (Node's
 * default, which left the workers of a cluster behind, orphaned). release() delivers the first one
 * again to the handlers in place by then.
 */
function deferSignals(logger: Logger): { release(): void } {
  let noted: NodeJS.Signals | null = null;
  const note = (signal: NodeJS.Signals) => {
    if (noted) return;
    noted = signal;
    logger.info({ signal }, "signal while starting: the server stops as soon as it has started");
  };
  process.on("SIGTERM", note);
  process.on("SIGINT", note);
  return {
    release() {
      process.off("SIGTERM", note);
      process.off("SIGINT", note);
      if (noted) process.kill(process.pid, noted);
    },
  };
}

/**
 * SIGTERM/SIGINT: finish in-flight requests, close the stores, exit 0 (1 if requests had to be
 * cut or a store failed to close). A second signal cuts the requests still open at once; one that
 * comes within SIGNAL_QUIET_PERIOD_MS of the first is a copy relayed by a parent process, not that.
 */
export function handleSignals(server: RunningServer, logger: Logger): void {
  const classify = signalClassifier();
  const onSignal = (signal: NodeJS.Signals) => {
    const verdict = classify(performance.now());
    if (verdict === "copy") {
      logger.info(
        { signal, quietPeriodMs: SIGNAL_QUIET_PERIOD_MS },
        "signal repeated within the quiet period: taken for a copy relayed by a parent process; " +
          "still finishing in-flight requests (signal again to cut them)",
      );
      return;
    }
    if (verdict === "second") {
      logger.warn({ signal }, "second signal: cutting the requests still open");
      server.abortRequests();
      return;
    }
    logger.info(
      { signal, timeoutSeconds: server.shutdownTimeoutMs / 1000 },
      "shutting down: finishing in-flight requests",
    );
    closeAndExit(server, logger);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/**
 * The server as a process, for `node dist/main.js` and `ssestore serve` alike: logs (JSON, or on a
 * terminal readable lines and a start banner: readableLogs), crashes logged before exiting 1, listen, and SIGTERM/SIGINT handled. Rejects (logged at fatal) when the
 * server cannot start.
 */
export async function serve(config: Config): Promise<RunningServer> {
  const logger = createLogger(config);
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception");
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    logger.fatal({ err }, "unhandled promise rejection");
    process.exit(1);
  });
  try {
    if (cluster.isWorker) {
      const workerLogger = logger.child({ worker: cluster.worker?.id });
      const primary = attachToPrimary(workerLogger);
      const server = await runServer(config, workerLogger, { worker: workerRole(config) });
      primary.obey(server);
      return server;
    }
    // A signal while the server starts is kept, and acted on once it can drain (never a crash).
    const early = deferSignals(logger);
    if (config.workers > 1) {
      const started = await startPrimary(config, logger);
      announce(
        config,
        logger,
        // Each worker chooses the same way (cipher-choice.ts): the primary names that choice.
        startInfo(config, started.url, started.s3Url, started.keyProvider, chooseCipher(config.cipher)),
        readableLogs(config),
      );
      handleSignals(started.server, logger);
      early.release();
      return started.server;
    }
    const server = await runServer(config, logger, { banner: readableLogs(config) });
    handleSignals(server, logger);
    early.release();
    return server;
  } catch (err) {
    if (err instanceof StartCancelled) {
      logger.info({ signal: err.signal }, "stopped before it had started");
      // The workers that still run follow on the primary's exit (attachToPrimary).
      process.exit(0);
    }
    logger.fatal({ err }, "cannot start");
    throw err;
  }
}

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sse-store: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  try {
    await serve(config);
  } catch (err) {
    // One clear line for the operator (wrong passphrase, wrong PIN, unreachable database…).
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`sse-store: cannot start: ${msg.split("\n")[0]}\n`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
