// AccessKeyService in process, over the real SQLite stores and the file key provider: issue under the
// token rules, the S3 listener's lookup (live keys only, the exact secret, no store lookup for a
// malformed id), enrollment on the first authenticated request, and the key versions that wrap
// the secrets (counted, protected from retirement, moved by rewrap).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { buildServices, type Services } from "../../src/app.js";
import type { Principal } from "../../src/auth/principal.js";
import { type Config, loadConfig } from "../../src/config.js";
import { FileRootKeyProvider } from "../../src/keys/file-provider.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import type { Stores } from "../../src/store/stores.js";
import { codeOf } from "../helpers/problem.js";
import { waitFor } from "../helpers/wait-for.js";

let dir: string;
let config: Config;
let stores: Stores;
let root: FileRootKeyProvider;
let services: Services;
let logLines: string[];
let logger: pino.Logger;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-access-keys-"));
  config = loadConfig({ SSE_DATA_DIR: dir });
  logLines = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  logger = pino({ level: "trace" }, sink);
  stores = openSqliteStores(dir);
  root = new FileRootKeyProvider({ config, logger });
  await root.open();
  services = buildServices(config, { stores, root, logger });
});

afterEach(async () => {
  vi.useRealTimers();
  await services.runner.stop();
  await services.objects.settle();
  await stores.close();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A user (enrolled: it authenticated) with a token of these options. */
async function principal(
  name: string,
  role: "admin" | "user" = "user",
  opts: { scopes?: ("read" | "write")[]; expiresInSeconds?: number } = {},
): Promise<Principal> {
  const user = await services.users.create(name, role);
  const { token } = await services.auth.issueToken(user, opts);
  const p = await services.auth.authenticate(token);
  if (!p) throw new Error("fresh token refused");
  return p;
}

describe("issuing access keys", () => {
  it("gives an SSEK id and a 43-character secret, kept only wrapped, that lookup returns exactly", async () => {
    const alice = await principal("alice");
    const { record, secret } = await services.accessKeys.create(alice, "alice", { label: "backup" });
    expect(record.id).toMatch(/^SSEK[0-9A-F]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({
      label: "backup",
      scopes: ["read", "write"],
      issuedBy: "alice",
      kekVersion: 1,
    });
    expect(record.wrappedSecret).toHaveLength(78);

    const found = await services.accessKeys.lookup(record.id);
    expect(found?.secret).toBe(secret);
    expect(found?.caller).toEqual({
      user: expect.objectContaining({ uid: alice.user.uid, name: "alice" }),
      accessKeyId: record.id,
      scopes: ["read", "write"],
    });
    // Neither the secret nor its bytes are in the database file, nor in the log.
    await stores.close();
    const file = readFileSync(path.join(dir, "objects.db"));
    expect(file.includes(Buffer.from(secret))).toBe(false);
    expect(file.includes(Buffer.from(secret, "base64url"))).toBe(false);
    expect(logLines.join("")).not.toContain(secret);
    expect(logLines.join("")).toContain(record.id);
    stores = openSqliteStores(dir);
  });

  it("follows the token rules: an admin only while the user enrolls, within its own token's scopes and life", async () => {
    const admin = await principal("boss", "admin", { expiresInSeconds: 60 });
    const bob = await services.users.create("bob", "user");
    const first = await services.accessKeys.create(admin, "bob", {});
    expect(first.record.issuedBy).toBe("boss");
    // By default the key expires with the admin's token, never later.
    expect(first.record.expiresAt?.getTime()).toBeLessThanOrEqual(admin.token.expiresAt!.getTime());
    await expect(services.accessKeys.create(admin, "bob", { expiresInSeconds: 3600 })).rejects.toThrow(
      /an access key that outlives it/,
    );
    const readOnly = await principal("reader", "admin", { scopes: ["read"] });
    await expect(services.accessKeys.create(readOnly, "bob", { scopes: ["write"] })).rejects.toThrow(
      /an access key with more scopes/,
    );
    expect(await codeOf(services.accessKeys.create(admin, "bob", { label: "a\u0000b" }))).toBe(
      "validation_error",
    );
    expect(await codeOf(services.accessKeys.create(admin, "bob", { scopes: ["admin"] }))).toBe(
      "validation_error",
    );
    expect(await codeOf(services.accessKeys.create(admin, "nobody", {}))).toBe("not_found");

    // Bob's first authenticated S3 request enrolls him: from then on only he issues his keys.
    const found = await services.accessKeys.lookup(first.record.id);
    await services.accessKeys.authenticated(found!.caller);
    expect((await stores.accounts.getUserByUid(bob.uid))?.enrolledAt).not.toBeNull();
    expect(await codeOf(services.accessKeys.create(admin, "bob", {}))).toBe("enrolled");
    expect(await services.accessKeys.list("bob")).toHaveLength(1);
    const bobToken = await services.auth.issueToken(bob, {});
    const self = await services.accessKeys.create(
      (await services.auth.authenticate(bobToken.token))!,
      "bob",
      {
        scopes: ["read"],
      },
    );
    expect(self.record).toMatchObject({ issuedBy: "bob", scopes: ["read"] });
  });

  it("a reset revokes every access key, and counts them", async () => {
    const admin = await principal("boss", "admin");
    await services.users.create("carol", "user");
    const keys = [
      await services.accessKeys.create(admin, "carol", {}),
      await services.accessKeys.create(admin, "carol", {}),
    ];
    const reset = await services.users.reset(admin, "carol", {});
    expect(reset.revoked).toBe(2);
    for (const k of keys) expect(await services.accessKeys.lookup(k.record.id)).toBeNull();
    expect(await services.accessKeys.list("carol")).toEqual([]);
  });
});

describe("lookup", () => {
  it("answers null for a malformed id without asking the store", async () => {
    const alice = await principal("alice");
    const { record } = await services.accessKeys.create(alice, "alice", {});
    await stores.close();
    // A closed store throws on any lookup: these never reach it.
    for (const id of ["", "AKIAIOSFODNN7EXAMPLE", `${record.id}0`, record.id.toLowerCase(), "SSEK\u0000"])
      expect(await services.accessKeys.lookup(id)).toBeNull();
    expect(await codeOf(services.accessKeys.lookup(record.id))).toBe("storage_unavailable");
    stores = openSqliteStores(dir);
  });

  it("answers null for an unknown, revoked or expired key, or one whose user or keys are gone", async () => {
    const admin = await principal("boss", "admin");
    const alice = await principal("alice");
    expect(await services.accessKeys.lookup("SSEK0000000000000000")).toBeNull();

    const revoked = await services.accessKeys.create(alice, "alice", {});
    await services.accessKeys.revoke(alice, "alice", revoked.record.id);
    expect(await services.accessKeys.lookup(revoked.record.id)).toBeNull();
    expect(await codeOf(services.accessKeys.revoke(alice, "alice", revoked.record.id))).toBe("not_found");
    expect(await codeOf(services.accessKeys.revoke(alice, "alice", "not-an-id"))).toBe("not_found");

    vi.useFakeTimers({ toFake: ["Date"] });
    const expiring = await services.accessKeys.create(alice, "alice", { expiresInSeconds: 60 });
    expect(await services.accessKeys.lookup(expiring.record.id)).not.toBeNull();
    vi.setSystemTime(Date.now() + 60_000);
    expect(await services.accessKeys.lookup(expiring.record.id)).toBeNull();
    vi.useRealTimers();

    // Keys destroyed (a deletion under way): dead at once, before the account row goes.
    const shredded = await services.accessKeys.create(alice, "alice", {});
    await services.keys.destroyUserKeys(alice.user.uid);
    expect(await services.accessKeys.lookup(shredded.record.id)).toBeNull();

    const dave = await principal("dave");
    const gone = await services.accessKeys.create(dave, "dave", {});
    await services.users.delete(admin, "dave");
    expect(await services.accessKeys.lookup(gone.record.id)).toBeNull();
    expect(await stores.accounts.listAccessKeys(dave.user.uid)).toEqual([]);
  });

  it("is a fault, not a miss, when a wrapped secret was tampered with or moved to another key", async () => {
    const alice = await principal("alice");
    const a = await services.accessKeys.create(alice, "alice", {});
    const b = await services.accessKeys.create(alice, "alice", {});
    const flipped = Buffer.from(a.record.wrappedSecret);
    flipped[40]! ^= 1;
    await stores.accounts.updateAccessKeySecret(alice.user.uid, a.record.id, 1, flipped);
    expect(await codeOf(services.accessKeys.lookup(a.record.id))).toBe("integrity_error");
    // Each secret is bound to its key id: b's blob in a's row does not open.
    await stores.accounts.updateAccessKeySecret(alice.user.uid, a.record.id, 1, b.record.wrappedSecret);
    expect(await codeOf(services.accessKeys.lookup(a.record.id))).toBe("integrity_error");
    expect((await services.accessKeys.lookup(b.record.id))?.secret).toBe(b.secret);
  });

  it("authenticated enrolls the user once and touches lastUsed at most once a minute", async () => {
    const admin = await principal("boss", "admin");
    await services.users.create("erin", "user");
    const { record } = await services.accessKeys.create(admin, "erin", {});
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const enrolled = () => logLines.filter((l) => l.includes("user enrolled") && l.includes('"user":"erin"'));
    const lastUsed = async () => (await services.accessKeys.list("erin"))[0]?.lastUsed?.getTime() ?? null;

    await services.accessKeys.authenticated((await services.accessKeys.lookup(record.id))!.caller);
    expect(enrolled()).toHaveLength(1);
    await waitFor("the first touch", async () => (await lastUsed()) === start);

    vi.setSystemTime(start + 30_000);
    const again = (await services.accessKeys.lookup(record.id))!.caller;
    expect(again.user.enrolledAt?.getTime()).toBe(start);
    await services.accessKeys.authenticated(again);
    vi.setSystemTime(start + 61_000);
    await services.accessKeys.authenticated(again);
    await waitFor("the touch a minute later", async () => (await lastUsed()) === start + 61_000);
    // Enrolled once: the later requests did not enroll it again.
    expect(enrolled()).toHaveLength(1);
    expect((await stores.accounts.getUserByName("erin"))?.enrolledAt?.getTime()).toBe(start);
  });
});

describe("key versions and access key secrets", () => {
  it("counts secrets per version, refuses to retire one in use, and rewrap moves them", async () => {
    const alice = await principal("alice");
    const { record, secret } = await services.accessKeys.create(alice, "alice", {});
    const uid = alice.user.uid;
    await services.keyVersions.rotate(uid);
    expect((await services.keyVersions.info(uid)).versions).toEqual([
      expect.objectContaining({ version: 1, objects: 0, accessKeys: 1 }),
      expect.objectContaining({ version: 2, objects: 0, accessKeys: 0 }),
    ]);
    const refused = services.keyVersions.setMinDecryptionVersion(uid, 2);
    await expect(refused).rejects.toMatchObject({ code: "key_version_in_use" });
    await expect(refused).rejects.toThrow(/1 access key secret\(s\) still use key versions below 2/);
    expect((await services.accessKeys.lookup(record.id))?.secret).toBe(secret);

    services.runner.start();
    const job = await services.jobs.startRewrap(uid, uid);
    const done = await waitFor("the rewrap", async () => {
      const j = await stores.jobs.getJob(job.id);
      return j?.state === "done" ? j : null;
    });
    expect(JSON.parse(done.result ?? "{}")).toMatchObject({ damagedCount: 0 });
    expect(await stores.accounts.countAccessKeysByKekVersion(uid)).toEqual(new Map([[2, 1]]));

    const info = await services.keyVersions.setMinDecryptionVersion(uid, 2);
    expect(info.versions).toEqual([expect.objectContaining({ version: 2, accessKeys: 1 })]);
    expect((await services.accessKeys.lookup(record.id))?.secret).toBe(secret);
  });

  it("a rotation by another process between wrap and commit leaves the secret under the new primary", async () => {
    const alice = await principal("alice");
    const uid = alice.user.uid;
    // Time stands still, so this process's cached key state (primary 1) stays fresh.
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await services.keys.state(uid)).primaryVersion).toBe(1);
    const other = buildServices(config, { stores, root, logger });
    await other.keys.rotate(uid);

    const { record, secret } = await services.accessKeys.create(alice, "alice", {});
    expect(record.kekVersion).toBe(2);
    expect(await stores.accounts.countAccessKeysByKekVersion(uid)).toEqual(new Map([[2, 1]]));
    // So version 1 can be retired at once, and the key still works.
    await other.keyVersions.setMinDecryptionVersion(uid, 2);
    vi.useRealTimers();
    expect((await services.accessKeys.lookup(record.id))?.secret).toBe(secret);
  });

  it("a rewrap reports a secret it cannot unwrap, moves the others, and the job still finishes", async () => {
    const alice = await principal("alice");
    const uid = alice.user.uid;
    const good = await services.accessKeys.create(alice, "alice", {});
    const bad = await services.accessKeys.create(alice, "alice", {});
    const flipped = Buffer.from(bad.record.wrappedSecret);
    flipped[50]! ^= 1;
    await stores.accounts.updateAccessKeySecret(uid, bad.record.id, 1, flipped);
    await services.keyVersions.rotate(uid);
    services.runner.start();
    const job = await services.jobs.startRewrap(uid, uid);
    const done = await waitFor("the rewrap", async () => {
      const j = await stores.jobs.getJob(job.id);
      return j?.state === "done" ? j : null;
    });
    expect(JSON.parse(done.result ?? "{}")).toMatchObject({
      damagedCount: 1,
      damaged: [
        {
          owner: "alice",
          id: `access key ${bad.record.id}`,
          error: expect.stringMatching(/^integrity_error/),
        },
      ],
    });
    expect((await stores.accounts.getAccessKeyWithUser(good.record.id))?.key.kekVersion).toBe(2);
    expect((await services.accessKeys.lookup(good.record.id))?.secret).toBe(good.secret);
  });
});
