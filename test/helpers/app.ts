// An in-process SSE Store on real SQLite files and a real root-key provider, driven through
// app.inject(): for route-level tests that need many cases quickly. Also fills a data dir with
// objects through the real object service, for end-to-end tests and benchmarks that need many.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { type App, build, buildServices, type Services } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import type { ObjectStore } from "../../src/store/object-store.js";
import { openStores } from "../../src/store/open-store.js";
import type { Role, Scope, UserRecord } from "../../src/store/records.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import type { Stores } from "../../src/store/stores.js";
import { ADMIN_TOKEN } from "./tokens.js";

export interface TestApp extends App {
  config: Config;
  dataDir: string;
  stores: Stores;
  root: RootKeyProvider;
  /** Creates a user with a token (all scopes unless given). */
  user(name: string, opts?: { role?: Role; scopes?: Scope[] }): Promise<{ user: UserRecord; token: string }>;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), "sse-app-")), "data");
}

async function open(env: Record<string, string>, dataDir: string) {
  const config = loadConfig({ SSE_DATA_DIR: dataDir, SSE_LOG_LEVEL: "silent", ...env });
  const logger = pino({ level: "silent" });
  const stores = openSqliteStores(dataDir);
  const root = createRootKeyProvider({ config, logger });
  await root.open();
  return { config, logger, stores, root };
}

/** The services alone (no HTTP app) on fresh SQLite files in a temp dir: domain-level tests. */
export interface TestServices {
  dataDir: string;
  stores: Stores;
  services: Services;
  /** Closes the services, the stores and the root key, and removes the temp dir. */
  close(): Promise<void>;
}

export async function openServices(
  env: Record<string, string> = {},
  dataDir = tempDataDir(),
): Promise<TestServices> {
  const { config, logger, stores, root } = await open(env, dataDir);
  const services = buildServices(config, { stores, root, logger });
  return {
    dataDir,
    stores,
    services,
    async close() {
      await services.objects.settle();
      await services.objects.close();
      await stores.close();
      await root.close();
      rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/**
 * build() on fresh SQLite files in a temp dir, the admin bootstrapped, the job runner started.
 * `interpose` may put a layer between the services and the real object store (to inject a fault).
 */
export async function startApp(
  env: Record<string, string> = {},
  dataDir = tempDataDir(),
  interpose: (store: ObjectStore) => ObjectStore = (store) => store,
): Promise<TestApp> {
  const { config, logger, stores, root } = await open(env, dataDir);
  const built = await build(config, {
    stores: { ...stores, objects: interpose(stores.objects) },
    root,
    logger,
  });
  await built.services.auth.bootstrap({ token: ADMIN_TOKEN, dataDir });
  built.services.runner.start();
  return {
    ...built,
    config,
    dataDir,
    stores,
    root,
    async user(name, opts = {}) {
      const user = await built.services.auth.createUser(name, opts.role ?? "user");
      const { token } = await built.services.auth.issueToken(user, { scopes: opts.scopes });
      return { user, token };
    },
    async close() {
      await built.services.runner.stop();
      await built.app.close();
      await built.services.objects.settle();
      await built.services.objects.close();
      await stores.close();
      await root.close();
      rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/**
 * Fills `dataDir` (as a server with `env` would) with `count` small objects of a new user, through
 * the real services, and bootstraps the admin with ADMIN_TOKEN. Returns the user's token.
 */
export async function populate(
  dataDir: string,
  env: Record<string, string>,
  name: string,
  count: number,
  body: (i: number) => Buffer = (i) => Buffer.from(`object number ${i}`),
): Promise<{ token: string; services: Services; close(): Promise<void> }> {
  const config = loadConfig({ SSE_DATA_DIR: dataDir, SSE_LOG_LEVEL: "silent", ...env });
  const logger = pino({ level: "silent" });
  // The store a server with `env` opens: SQLite in the data dir, or PostgreSQL (SSE_DATABASE_URL).
  const stores = await openStores(config, logger);
  const root = createRootKeyProvider({ config, logger });
  await root.open();
  const services = buildServices(config, { stores, root, logger });
  await services.auth.bootstrap({ token: ADMIN_TOKEN, dataDir });
  const user = await services.auth.createUser(name, "user");
  const { token } = await services.auth.issueToken(user, {});
  // Many writes in flight at once: the store commits them in groups, one fsync per group.
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++)
      await services.objects.put({
        owner: user.uid,
        id: `o${i}`,
        body: [body(i)],
        contentType: "text/plain",
        cond: {},
      });
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return {
    token,
    services,
    async close() {
      await services.objects.settle();
      await stores.close();
      await root.close();
    },
  };
}
