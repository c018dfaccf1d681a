// The process: read config, open stores and the key provider, build, listen, shut down gracefully.
import { pathToFileURL } from "node:url";
import pino, { type Logger } from "pino";
import { build } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { loggablePath } from "./http/redact-path.js";
import { createRootKeyProvider } from "./keys/providers.js";
import type { RootKeyProvider } from "./keys/root-key-provider.js";
import { openStores } from "./store/open-store.js";
import type { KeyStore, ObjectStore } from "./store/store.js";

/** Field names whose values never reach the log, wherever they appear. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "passphrase",
  "*.passphrase",
  "pin",
  "*.pin",
  "key",
  "*.key",
  "bootstrapToken",
  "*.bootstrapToken",
  "databaseUrl",
  "*.databaseUrl",
];

export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: {
      // URLs carry download-link tokens (path) and may carry secrets (query): log neither.
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        method: req.method,
        path: loggablePath(req.url),
        remoteAddress: req.ip,
      }),
      err: pino.stdSerializers.err,
    },
  });
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function runServer(config: Config, logger: Logger = createLogger(config)): Promise<RunningServer> {
  let opened: { objects: ObjectStore; keys: KeyStore } | undefined;
  let provider: RootKeyProvider | undefined;
  try {
    const stores = await openStores(config, logger);
    opened = stores;
    const root = createRootKeyProvider({ config, logger });
    provider = root;
    await root.open();
    const built = await build(config, { store: stores.objects, keyStore: stores.keys, root, logger });
    const { app, services } = built;
    const swept = await stores.objects.sweepAbandonedUploads();
    if (swept > 0) logger.info({ uploads: swept }, "reclaimed interrupted uploads");
    services.objects.scheduleReclaim();
    await services.auth.bootstrap({ token: config.bootstrapToken, dataDir: config.dataDir });
    // Jobs left running by a previous process (crash, restart) resume here.
    services.runner.start();
    const url = await app.listen({ host: config.host, port: config.port });
    logger.info({ url, store: config.databaseUrl ? "postgres" : "sqlite", keyProvider: root.name }, "SSE Store listening");

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        built.beginShutdown();
        const deadline = setTimeout(() => {
          logger.error("shutdown deadline passed; closing open connections");
          app.server.closeAllConnections();
        }, config.shutdownTimeoutSeconds * 1000);
        deadline.unref();
        try {
          // Running jobs stop at their next checkpoint and resume from it at the next start.
          await Promise.all([app.close(), services.runner.stop()]);
          await services.objects.settle();
        } finally {
          clearTimeout(deadline);
          await stores.objects.close();
          await stores.keys.close();
          await root.close();
        }
        logger.info("SSE Store stopped");
      })();
      return closing;
    };
    return { url, close };
  } catch (err) {
    await opened?.objects.close().catch(() => undefined);
    await opened?.keys.close().catch(() => undefined);
    await provider?.close().catch(() => undefined);
    throw err;
  }
}

/** Installs SIGTERM/SIGINT handling: finish in-flight requests, close stores, exit 0. */
export function handleSignals(server: RunningServer, logger: Logger): void {
  const onSignal = (signal: string) => {
    logger.info({ signal }, "shutting down");
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
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
  const logger = createLogger(config);
  try {
    const server = await runServer(config, logger);
    handleSignals(server, logger);
  } catch (err) {
    // One clear line for the operator (wrong passphrase, wrong PIN, unreachable database…).
    const msg = err instanceof Error ? err.message : String(err);
    logger.fatal({ err }, "cannot start");
    process.stderr.write(`sse-store: cannot start: ${msg.split("\n")[0]}\n`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
