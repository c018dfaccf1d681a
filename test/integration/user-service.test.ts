// UserService and AuthService in process, over the real SQLite stores and the file key provider:
// keys per user, deletion with key destruction, the admin guards, bootstrap, authentication.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildServices, type Services } from "../../src/app.js";
import type { Principal } from "../../src/auth/principal.js";
import { loadConfig } from "../../src/config.js";
import { dekContext } from "../../src/crypto/envelope.js";
import type { AppError } from "../../src/errors.js";
import { FileRootKeyProvider } from "../../src/keys/file-provider.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import type { Stores } from "../../src/store/stores.js";
import { codeOf } from "../helpers/problem.js";

let dir: string;
let stores: Stores;
let root: FileRootKeyProvider;
let services: Services;
let logLines: string[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-users-"));
  const config = loadConfig({ SSE_DATA_DIR: dir });
  logLines = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: "trace" }, sink);
  stores = openSqliteStores(dir);
  root = new FileRootKeyProvider({ config, logger });
  await root.open();
  services = buildServices(config, { stores, root, logger });
});

afterEach(async () => {
  await services.objects.settle();
  await stores.close();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A user with a read-write token, authenticated as a request would be. */
async function principal(
  name: string,
  role: "admin" | "user" = "user",
): Promise<Principal & { secret: string }> {
  const user = await services.users.create(name, role);
  const { token } = await services.auth.issueToken(user, {});
  const p = await services.auth.authenticate(token);
  if (!p) throw new Error("fresh token refused");
  return { ...p, secret: token };
}

async function putObject(owner: string, id: string, text: string) {
  return services.objects.put({ owner, id, body: [Buffer.from(text)], contentType: "text/plain", cond: {} });
}

describe("users' keys", () => {
  it("gives every user its own key-encryption key, and wraps its objects only under it", async () => {
    const alice = await principal("alice");
    const bob = await principal("bob");
    const aliceKek = await stores.keys.listKekVersions(alice.user.uid);
    const bobKek = await stores.keys.listKekVersions(bob.user.uid);
    expect(aliceKek).toHaveLength(1);
    expect(bobKek).toHaveLength(1);
    expect(aliceKek[0]!.wrappedKek.equals(bobKek[0]!.wrappedKek)).toBe(false);

    const { meta } = await putObject(alice.user.uid, "doc", "alice's");
    const ctx = dekContext(alice.user.uid, "doc", meta.writeId);
    const dek = await services.keys.unwrapDek(alice.user.uid, meta.kekVersion, meta.wrappedDek, ctx);
    expect(dek).toHaveLength(32);
    // Bob's KEK cannot open it, even with alice's context.
    await expect(
      services.keys.unwrapDek(bob.user.uid, meta.kekVersion, meta.wrappedDek, ctx),
    ).rejects.toThrow();
  });
});

describe("deleting a user", () => {
  it("removes its tokens and objects, destroys its keys and forgets its cached KEKs", async () => {
    const admin = await principal("root", "admin");
    const alice = await principal("alice");
    const bob = await principal("bob");
    const { meta } = await putObject(alice.user.uid, "doc", "secret of alice");
    await putObject(bob.user.uid, "doc", "bob's");
    expect(services.keys.cache.size).toBeGreaterThan(0);

    await services.users.delete(admin, "alice");

    expect(await services.auth.authenticate(alice.secret)).toBeNull();
    expect(await stores.accounts.getUserByUid(alice.user.uid)).toBeNull();
    expect(await stores.objects.getObject(alice.user.uid, "doc")).toBeNull();
    expect(await stores.objects.readSegments(meta.writeId, 0, 10)).toEqual([]);
    expect(await stores.keys.getUserKeyState(alice.user.uid)).toBeNull();
    expect(await stores.keys.listKekVersions(alice.user.uid)).toEqual([]);
    // No cached KEK of alice is left; bob's data is untouched.
    expect(services.keys.cache.get(alice.user.uid, 1)).toBeUndefined();
    expect(await services.auth.authenticate(bob.secret)).not.toBeNull();
    expect(await stores.objects.getObject(bob.user.uid, "doc")).not.toBeNull();
    // The name is free again, for a new user with a new key and an empty namespace.
    const again = await principal("alice");
    expect(again.user.uid).not.toBe(alice.user.uid);
    expect(await stores.objects.listObjects(again.user.uid, { limit: 10 })).toEqual([]);
  });

  it("deletes an upload that began between the objects' deletion and the account's", async () => {
    const admin = await principal("root", "admin");
    const alice = await principal("alice");
    const { meta } = await putObject(alice.user.uid, "doc", "alice's");
    const late = randomBytes(16);
    // A write that authenticated before the deletion and still had the KEK at hand.
    const deleteOwnerObjects = stores.objects.deleteOwnerObjects.bind(stores.objects);
    let rounds = 0;
    stores.objects.deleteOwnerObjects = async (owner: string) => {
      await deleteOwnerObjects(owner);
      if (++rounds === 1) await stores.objects.beginUpload(owner, "late", late);
    };

    await services.users.delete(admin, "alice");

    expect(rounds).toBe(2);
    expect(await stores.accounts.getUserByUid(alice.user.uid)).toBeNull();
    expect(await stores.objects.readSegments(meta.writeId, 0, 10)).toEqual([]);
    expect(await codeOf(stores.objects.appendSegments(late, 0, [Buffer.from("x")]))).toBe("conflict");
  });

  it("a deletion cut short after the keys were destroyed is finished by a retry", async () => {
    const admin = await principal("root", "admin");
    const alice = await principal("alice");
    const { meta } = await putObject(alice.user.uid, "doc", "alice's");
    const deleteOwnerObjects = stores.objects.deleteOwnerObjects.bind(stores.objects);
    stores.objects.deleteOwnerObjects = async () => {
      stores.objects.deleteOwnerObjects = deleteOwnerObjects;
      throw new Error("the process died here");
    };

    await expect(services.users.delete(admin, "alice")).rejects.toThrow("the process died here");
    // The keys are gone already (nothing is readable), the rest is still there…
    expect(await stores.keys.getUserKeyState(alice.user.uid)).toBeNull();
    expect(await stores.accounts.getUserByUid(alice.user.uid)).not.toBeNull();
    // …and deleting again finishes the job.
    await services.users.delete(admin, "alice");
    expect(await stores.accounts.getUserByUid(alice.user.uid)).toBeNull();
    expect(await stores.objects.getObject(alice.user.uid, "doc")).toBeNull();
    expect(await stores.objects.readSegments(meta.writeId, 0, 10)).toEqual([]);
    expect(await services.auth.authenticate(alice.secret)).toBeNull();
  });

  it("refuses an admin deleting itself", async () => {
    const admin = await principal("root", "admin");
    await principal("other", "admin");
    expect(await codeOf(services.users.delete(admin, "root"))).toBe("cannot_delete_self");
    expect(await stores.accounts.getUserByName("root")).not.toBeNull();
  });

  it("never deletes the last admin, even when two admins delete each other at once", async () => {
    const a = await principal("a", "admin");
    const b = await principal("b", "admin");
    const results = await Promise.allSettled([services.users.delete(a, "b"), services.users.delete(b, "a")]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((refused.reason as AppError).code).toBe("last_admin");
    expect((await stores.accounts.listUsers()).filter((u) => u.role === "admin")).toHaveLength(1);
  });

  it("answers 404 for a user that does not exist and 400 for a name that cannot", async () => {
    const admin = await principal("root", "admin");
    expect(await codeOf(services.users.delete(admin, "ghost"))).toBe("not_found");
    expect(await codeOf(services.users.delete(admin, "Not A Name"))).toBe("invalid_name");
  });
});

describe("tokens", () => {
  it("revokes a token for its own user only", async () => {
    const admin = await principal("root", "admin");
    const alice = await principal("alice");
    const bob = await principal("bob");
    expect(await codeOf(services.users.revokeToken(admin, "alice", bob.token.id))).toBe("not_found");
    expect(await services.auth.authenticate(bob.secret)).not.toBeNull();
    expect(await codeOf(services.users.revokeToken(admin, "alice", "not-an-id"))).toBe("not_found");
    await services.users.revokeToken(alice, "alice", alice.token.id);
    expect(await services.auth.authenticate(alice.secret)).toBeNull();
  });

  it("refuses expired tokens and records lastUsed", async () => {
    const alice = await principal("alice");
    const listed = await services.users.listTokens("alice");
    expect(listed[0]!.lastUsed).not.toBeNull();
    const { record, token } = await services.users.issueToken(alice, "alice", { expiresInSeconds: 60 });
    expect(await services.auth.authenticate(token)).not.toBeNull();
    // Move the stored expiry into the past, as time would; another process's change reaches this one
    // once its cached entry lapses (within a second), here at once.
    await stores.accounts.deleteToken(alice.user.uid, record.id);
    await stores.accounts.createToken({ ...record, expiresAt: new Date(Date.now() - 1) });
    services.users.credentials.tokens.forget(record.id);
    expect(await services.auth.authenticate(token)).toBeNull();
  });

  it("logs who issued and revoked what, never the token", async () => {
    const admin = await principal("root", "admin");
    // alice is enrolling: created, no credential of its own used yet.
    await services.users.create("alice", "user");
    const { record, token } = await services.users.issueToken(admin, "alice", { label: "ci" });
    await services.users.revokeToken(admin, "alice", record.id);
    const log = logLines.join("");
    expect(log).toContain(record.id);
    expect(log).toContain('"msg":"token issued"');
    expect(log).toContain('"msg":"token revoked"');
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.slice(21));
  });
});

describe("bootstrap", () => {
  it("writes a random token to a 0600 file, names the file in the log, never the token", async () => {
    await services.auth.bootstrap({ dataDir: dir });
    const file = path.join(dir, "bootstrap-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, "utf8").trim();
    expect(token).toMatch(/^sse_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const p = await services.auth.authenticate(token);
    expect(p?.user).toMatchObject({ name: "admin", role: "admin" });
    expect(p?.token.scopes).toEqual(["read", "write"]);
    const log = logLines.join("");
    expect(log).toContain(file);
    expect(log).not.toContain(token.slice(21));
    // Later starts leave everything alone.
    await services.auth.bootstrap({ dataDir: dir, token: "x".repeat(40) });
    expect(await services.auth.authenticate("x".repeat(40))).toBeNull();
    expect(await stores.accounts.countUsers()).toBe(1);
  });

  it("uses SSE_BOOTSTRAP_TOKEN when given, storing only its hash", async () => {
    const given = "an-operator-chosen-bootstrap-token-0123456789";
    await services.auth.bootstrap({ dataDir: dir, token: given });
    expect((await services.auth.authenticate(given))?.user.name).toBe("admin");
    const [t] = await services.users.listTokens("admin");
    expect(t).toMatchObject({ label: "bootstrap", scopes: ["read", "write"], expiresAt: null });
    expect(t!.secretHash.toString("latin1")).not.toContain(given);
  });

  it("survives two instances bootstrapping at once: one admin, no orphan key", async () => {
    const given = "an-operator-chosen-bootstrap-token-0123456789";
    await Promise.all([
      services.auth.bootstrap({ dataDir: dir, token: given }),
      services.auth.bootstrap({ dataDir: dir, token: given }),
    ]);
    const users = await stores.accounts.listUsers();
    expect(users.map((u) => u.name)).toEqual(["admin"]);
    expect((await services.auth.authenticate(given))?.user.uid).toBe(users[0]!.uid);
    const keys = new Database(path.join(dir, "keys.db"), { readonly: true });
    try {
      expect(keys.prepare("SELECT owner FROM user_keys").pluck().all()).toEqual([users[0]!.uid]);
    } finally {
      keys.close();
    }
  });
});
