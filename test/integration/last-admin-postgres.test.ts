// The last admin stays even when two server processes on one PostgreSQL database delete each
// other's admins at the same moment: deletions take a lock in the database, so the second one's
// check sees the first one's outcome (409 last_admin). Two complete service stacks on one real
// database stand in for the two processes; key destruction is slowed so that both deletions are
// under way together, which without the lock let both pass their check and left no admin.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices, type Services } from "../../src/app.js";
import type { Principal } from "../../src/auth/principal.js";
import { loadConfig } from "../../src/config.js";
import { AppError, StorageUnavailableError } from "../../src/errors.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import { openStores } from "../../src/store/open-store.js";
import type { Stores } from "../../src/store/stores.js";
import { adminQuery, createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

interface Stack {
  services: Services;
  stores: Stores;
  root: RootKeyProvider;
}

let db: TestDatabase;
let dataDir: string;
const stacks: Stack[] = [];

async function openStack(): Promise<Stack> {
  const config = loadConfig({ SSE_DATA_DIR: dataDir, SSE_LOG_LEVEL: "silent", SSE_DATABASE_URL: db.url });
  const logger = pino({ level: "silent" });
  const stores = await openStores(config, logger);
  const root = createRootKeyProvider({ config, logger });
  await root.open();
  const services = buildServices(config, { stores, root, logger });
  // Destroying keys takes a while here, as over a slow link: both deletions are then in flight.
  const destroy = stores.keys.destroyUserKeys.bind(stores.keys);
  stores.keys.destroyUserKeys = async (owner: string) => {
    await new Promise((r) => setTimeout(r, 300));
    return destroy(owner);
  };
  const stack = { services, stores, root };
  stacks.push(stack);
  return stack;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "sse-last-admin-")), "data");
}, 60_000);

afterAll(async () => {
  for (const s of stacks) {
    await s.services.objects.settle();
    await s.stores.close();
    await s.root.close();
  }
  await db?.drop();
  if (dataDir) rmSync(path.dirname(dataDir), { recursive: true, force: true });
}, 60_000);

describe("the last admin on PostgreSQL with several processes", () => {
  it("two admins deleting each other through two processes at once: one is refused", async () => {
    const a = await openStack();
    await a.services.auth.bootstrap({ token: ADMIN_TOKEN, dataDir });
    const b = await openStack();
    // Two admins, each with a token; "admin" acts in process a, "second" in process b.
    const second = await a.services.auth.createUser("second", "admin");
    const { token } = await a.services.auth.issueToken(second, {});
    const asAdmin = (await a.services.auth.authenticate(ADMIN_TOKEN))!;
    const asSecond = (await b.services.auth.authenticate(token))!;

    const results = await Promise.allSettled([
      a.services.users.delete(asAdmin, "second"),
      b.services.users.delete(asSecond, "admin"),
    ]);
    const refused = results.filter((r) => r.status === "rejected");
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const err = (refused[0] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("last_admin");
    const admins = (await a.services.users.list()).filter((u) => u.role === "admin");
    expect(admins).toHaveLength(1);
  }, 30_000);

  it("a deletion whose lock is lost before it destroys keys stops there: 503, the user intact", async () => {
    const a = stacks[0] ?? (await openStack());
    const asAdmin = await newAdmin(a, "boss");
    const third = await a.services.auth.createUser("third", "admin");
    const { token } = await a.services.auth.issueToken(third, {});
    // The lock's connection drops while the deletion checks the admins (as a network cut would).
    const list = a.stores.accounts.listUsers.bind(a.stores.accounts);
    a.stores.accounts.listUsers = async () => {
      a.stores.accounts.listUsers = list;
      await killLockSessions();
      return list();
    };
    const err = await a.services.users.delete(asAdmin, "third").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    // Nothing was destroyed: the user is there and its token still works.
    expect((await a.services.users.list()).map((u) => u.name)).toContain("third");
    expect(await a.services.auth.authenticate(token)).not.toBeNull();
    // And a retry, with the lock held, deletes it.
    await a.services.users.delete(asAdmin, "third");
    expect((await a.services.users.list()).map((u) => u.name)).not.toContain("third");
  }, 30_000);

  it("a lock lost after the keys are destroyed does not fail the finished deletion", async () => {
    const a = stacks[0] ?? (await openStack());
    const asAdmin = await newAdmin(a, "chief");
    await a.services.auth.createUser("fourth", "user");
    const destroy = a.stores.keys.destroyUserKeys;
    a.stores.keys.destroyUserKeys = async (owner: string) => {
      a.stores.keys.destroyUserKeys = destroy;
      await killLockSessions();
      return destroy(owner);
    };
    // Unlocking on the dead connection may throw at once; the deletion itself succeeded.
    await a.services.users.delete(asAdmin, "fourth");
    expect((await a.services.users.list()).map((u) => u.name)).not.toContain("fourth");
  }, 30_000);
});

/** Ends the database session of every advisory lock held in the test database. */
async function killLockSessions(): Promise<void> {
  await adminQuery(
    db.url,
    `SELECT pg_terminate_backend(pid, 5000) FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
}

/**
 * An admin of its own for a test: which of the first test's two admins survived is not promised
 * (either deletion may be the one refused), so ADMIN_TOKEN may be gone.
 */
async function newAdmin(stack: Stack, name: string): Promise<Principal> {
  const user = await stack.services.auth.createUser(name, "admin");
  const { token } = await stack.services.auth.issueToken(user, {});
  return (await stack.services.auth.authenticate(token))!;
}
