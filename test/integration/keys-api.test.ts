// The key routes through app.inject() on real SQLite files and the file provider: versions,
// rotation, rewrap, the minimum decryption version, root rotation, verify, jobs and who may do what.
import { randomBytes } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { createSoftHsmToken, softhsmAvailable } from "../helpers/softhsm.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

let t: TestApp;
let alice: string;

beforeEach(async () => {
  t = await startApp();
  alice = (await t.user("alice")).token;
});
afterEach(async () => {
  await t.close();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function call(
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  token: string,
  body?: unknown,
  headers = {},
) {
  const res = await t.app.inject({
    method,
    url,
    headers: { ...auth(token), ...headers },
    ...(body === undefined ? {} : Buffer.isBuffer(body) ? { payload: body } : { payload: body as object }),
  });
  return {
    status: res.statusCode,
    body: res.body,
    json: () => res.json(),
    headers: res.headers,
    raw: res.rawPayload,
  };
}

async function put(token: string, id: string, data: Buffer) {
  const r = await call("PUT", `/data/${id}`, token, data, { "content-type": "application/octet-stream" });
  expect(r.status, r.body).toBeLessThan(300);
  return r.json() as { keyVersion: number };
}

/** Polls the job until it leaves "running". */
async function finished(jobId: string, token = ADMIN_TOKEN) {
  for (;;) {
    const r = await call("GET", `/jobs/${jobId}`, token);
    expect(r.status, r.body).toBe(200);
    const job = r.json();
    if (job.state !== "running") return job;
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe("key versions", () => {
  it("GET /keys: one version at first, counting the caller's objects", async () => {
    await put(alice, "a", Buffer.from("x"));
    await put(alice, "b", Buffer.from("y"));
    const r = await call("GET", "/keys", alice);
    expect(r.status).toBe(200);
    const k = r.json();
    expect(k).toMatchObject({ primaryVersion: 1, minDecryptionVersion: 1 });
    expect(k.versions).toEqual([{ version: 1, created: expect.any(String), objects: 2, accessKeys: 0 }]);
    // The admin's own key is a different one.
    expect((await call("GET", "/keys", ADMIN_TOKEN)).json().versions[0].objects).toBe(0);
  });

  it("rotate: new writes use the new version, old objects still read, ranges included", async () => {
    const big = randomBytes(200_000);
    expect((await put(alice, "big", big)).keyVersion).toBe(1);
    const r = await call("POST", "/keys/rotate", alice);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ primaryVersion: 2, minDecryptionVersion: 1 });
    expect(
      r.json().versions.map((v: { version: number; objects: number }) => [v.version, v.objects]),
    ).toEqual([
      [1, 1],
      [2, 0],
    ]);
    expect((await put(alice, "new", Buffer.from("fresh"))).keyVersion).toBe(2);
    expect((await call("GET", "/data/big", alice)).raw.equals(big)).toBe(true);
    const range = await call("GET", "/data/big", alice, undefined, { range: "bytes=65530-131080" });
    expect(range.status).toBe(206);
    expect(range.raw.equals(big.subarray(65530, 131081))).toBe(true);
    expect((await call("GET", "/data/new", alice)).body).toBe("fresh");
  });

  it("rewrap moves every data key to the primary; then the minimum can rise and old versions are destroyed", async () => {
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 30; i++) {
      const b = randomBytes(10 + i * 5000);
      bodies.set(`f/${i}`, b);
      await put(alice, `f/${i}`, b);
    }
    await call("POST", "/keys/rotate", alice);
    await call("POST", "/keys/rotate", alice);
    const refused = await call("POST", "/keys/min-decryption-version", alice, { version: 3 });
    expect(refused.status).toBe(409);
    expect(refused.json().code).toBe("key_version_in_use");

    const started = await call("POST", "/keys/rewrap", alice);
    expect(started.status).toBe(202);
    const { jobId } = started.json();
    expect(started.headers.location).toBe(`/jobs/${jobId}`);
    const job = await finished(jobId, alice);
    expect(job).toMatchObject({ kind: "rewrap", state: "done", done: 30, total: 30 });
    expect(job.result).toEqual({ damaged: [], damagedCount: 0, truncated: false });
    const k = (await call("GET", "/keys", alice)).json();
    expect(k.versions.map((v: { objects: number }) => v.objects)).toEqual([0, 0, 30]);

    const raised = await call("POST", "/keys/min-decryption-version", alice, { version: 3 });
    expect(raised.status, raised.body).toBe(200);
    expect(raised.json()).toMatchObject({ primaryVersion: 3, minDecryptionVersion: 3 });
    expect(raised.json().versions.map((v: { version: number }) => v.version)).toEqual([3]);
    expect(
      await t.stores.keys.listKekVersions((await t.stores.accounts.getUserByName("alice"))!.uid),
    ).toHaveLength(1);
    for (const [id, b] of bodies) expect((await call("GET", `/data/${id}`, alice)).raw.equals(b)).toBe(true);
  });

  it("the minimum decryption version cannot go down, above the primary, or be malformed", async () => {
    await call("POST", "/keys/rotate", alice);
    expect((await call("POST", "/keys/min-decryption-version", alice, { version: 2 })).status).toBe(200);
    const down = await call("POST", "/keys/min-decryption-version", alice, { version: 1 });
    expect([down.status, down.json().code]).toEqual([409, "conflict"]);
    const above = await call("POST", "/keys/min-decryption-version", alice, { version: 3 });
    expect([above.status, above.json().code]).toEqual([409, "conflict"]);
    expect((await call("POST", "/keys/min-decryption-version", alice, { version: 2 })).status).toBe(200);
    for (const body of [
      {},
      { version: 0 },
      { version: "two" },
      { version: 2.5 },
      { version: 2 ** 32 },
      [2],
    ]) {
      const r = await call("POST", "/keys/min-decryption-version", alice, body);
      expect([r.status, r.json().code], JSON.stringify(body)).toEqual([422, "validation_error"]);
    }
  });

  it("data under a retired version (an older objects.db restored) answers 410 key_destroyed, never plaintext", async () => {
    await put(alice, "old", Buffer.from("secret words"));
    const owner = (await t.stores.accounts.getUserByName("alice"))!.uid;
    const before = (await t.stores.objects.getObject(owner, "old"))!;
    await call("POST", "/keys/rotate", alice);
    await finished((await call("POST", "/keys/rewrap", alice)).json().jobId, alice);
    expect((await call("POST", "/keys/min-decryption-version", alice, { version: 2 })).status).toBe(200);
    // What a restore of objects.db from before the rewrap brings back: the row under version 1.
    const db = new Database(path.join(t.dataDir, "objects.db"));
    db.prepare("UPDATE objects SET kek_version = 1, wrapped_dek = ? WHERE owner = ? AND id = 'old'").run(
      before.wrappedDek,
      owner,
    );
    db.close();
    const r = await call("GET", "/data/old", alice);
    expect(r.status).toBe(410);
    expect(r.json().code).toBe("key_destroyed");
    expect(r.body).not.toContain("secret words");
  });

  it("a rotation during an upload: the write ends under the new primary", async () => {
    const owner = (await t.stores.accounts.getUserByName("alice"))!.uid;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const halfway = new Promise<void>((r) => {
      reached = r;
    });
    async function* body() {
      yield randomBytes(100_000);
      reached();
      await gate;
      yield randomBytes(100_000);
    }
    const writing = t.services.objects.put({ owner, id: "slow", body: body(), contentType: "x/y", cond: {} });
    await halfway;
    await t.services.keys.rotate(owner);
    release();
    const { meta } = await writing;
    expect(meta.kekVersion).toBe(2);
    expect((await t.stores.objects.getObject(owner, "slow"))?.kekVersion).toBe(2);
    expect((await call("GET", "/data/slow", alice)).status).toBe(200);
  });
});

describe("who may do what", () => {
  it("admins reach any user's key under /users/{name}/key; users only their own", async () => {
    await put(alice, "a", Buffer.from("x"));
    const adminView = await call("GET", "/users/alice/key", ADMIN_TOKEN);
    expect(adminView.status).toBe(200);
    expect(adminView.json().versions[0].objects).toBe(1);
    expect((await call("GET", "/users/alice/key", alice)).status).toBe(200);
    // Another user's name is as unknown to a non-admin as a name that does not exist.
    expect((await call("GET", "/users/admin/key", alice)).status).toBe(404);
    expect((await call("POST", "/users/admin/key/rotate", alice)).status).toBe(404);
    expect((await call("GET", "/users/nobody/key", ADMIN_TOKEN)).status).toBe(404);
    expect((await call("GET", "/users/Bad%20Name/key", ADMIN_TOKEN)).json().code).toBe("invalid_name");

    const rotated = await call("POST", "/users/alice/key/rotate", ADMIN_TOKEN);
    expect(rotated.json().primaryVersion).toBe(2);
    const job = await finished((await call("POST", "/users/alice/key/rewrap", ADMIN_TOKEN)).json().jobId);
    expect(job).toMatchObject({ state: "done", done: 1 });
    const raised = await call("POST", "/users/alice/key/min-decryption-version", ADMIN_TOKEN, { version: 2 });
    expect(raised.json().minDecryptionVersion).toBe(2);
    expect((await call("GET", "/data/a", alice)).body).toBe("x");
  });

  it("a read-only token reads key versions but cannot change them", async () => {
    const reader = (await t.user("reader", { scopes: ["read"] })).token;
    expect((await call("GET", "/keys", reader)).status).toBe(200);
    for (const url of ["/keys/rotate", "/keys/rewrap", "/keys/min-decryption-version"])
      expect((await call("POST", url, reader, { version: 1 })).status, url).toBe(403);
  });

  it("root rotation and verify of everyone are for admins", async () => {
    expect((await call("POST", "/admin/root-key/rotate", alice)).status).toBe(403);
    expect((await call("GET", "/admin/root-key", alice)).status).toBe(403);
    expect((await call("POST", "/admin/verify", alice, {})).status).toBe(403);
    expect((await call("GET", "/keys", "sse_nope")).status).toBe(401);
  });

  it("a job is visible to whoever started it and to admins; to others it does not exist", async () => {
    const bob = (await t.user("bob")).token;
    const { jobId } = (await call("POST", "/keys/rewrap", alice)).json();
    expect((await call("GET", `/jobs/${jobId}`, alice)).status).toBe(200);
    expect((await call("GET", `/jobs/${jobId}`, ADMIN_TOKEN)).status).toBe(200);
    const hidden = await call("GET", `/jobs/${jobId}`, bob);
    expect([hidden.status, hidden.json().code]).toEqual([404, "not_found"]);
    expect((await call("GET", "/jobs/job_nope", ADMIN_TOKEN)).status).toBe(404);
    await finished(jobId);
  });
});

describe("root key rotation", () => {
  it("a new root version, every KEK version rewrapped under it, the old one retired; everything still reads", async () => {
    const bob = (await t.user("bob")).token;
    await put(alice, "a", Buffer.from("alice's"));
    await call("POST", "/keys/rotate", alice);
    await put(alice, "b", Buffer.from("alice's second"));
    await put(bob, "a", Buffer.from("bob's"));
    expect((await call("GET", "/admin/root-key", ADMIN_TOKEN)).json()).toEqual({
      provider: "file",
      primaryVersion: 1,
      versions: [1],
    });
    const started = await call("POST", "/admin/root-key/rotate", ADMIN_TOKEN);
    expect(started.status).toBe(202);
    const job = await finished(started.json().jobId);
    // admin, alice (2 versions), bob, and the audit log's secret (docs/AUDIT.md) = 5 KEK versions
    expect(job).toMatchObject({ kind: "root-rotate", state: "done", done: 5, total: 5 });
    expect(job.result).toEqual({ rootVersion: 2, retired: [1] });
    expect((await call("GET", "/admin/root-key", ADMIN_TOKEN)).json()).toMatchObject({
      primaryVersion: 2,
      versions: [2],
    });
    expect(await t.stores.keys.countKekVersionsNotWrappedBy(2)).toBe(0);
    // A cold cache: every KEK is unwrapped again, under the new root.
    t.services.keys.cache.clear();
    expect((await call("GET", "/data/a", alice)).body).toBe("alice's");
    expect((await call("GET", "/data/b", alice)).body).toBe("alice's second");
    expect((await call("GET", "/data/a", bob)).body).toBe("bob's");
  });
});

describe("verify", () => {
  it("finds each damaged object and nothing else; admins verify everyone or one user", async () => {
    const bob = (await t.user("bob")).token;
    for (let i = 0; i < 5; i++) await put(alice, `ok${i}`, randomBytes(70_000));
    await put(alice, "bad", randomBytes(150_000));
    await put(bob, "fine", Buffer.from("bob"));
    await put(bob, "bad-too", Buffer.from("bob's damaged"));
    const owner = async (name: string) => (await t.stores.accounts.getUserByName(name))!.uid;
    const db = new Database(path.join(t.dataDir, "objects.db"));
    const flip = (uid: string, id: string, idx: number) => {
      const w = db
        .prepare("SELECT write_id FROM objects WHERE owner = ? AND id = ?")
        .pluck()
        .get(uid, id) as Buffer;
      const seg = db
        .prepare("SELECT data FROM segments WHERE write_id = ? AND idx = ?")
        .pluck()
        .get(w, idx) as Buffer;
      seg[seg.length - 20]! ^= 1;
      db.prepare("UPDATE segments SET data = ? WHERE write_id = ? AND idx = ?").run(seg, w, idx);
    };
    flip(await owner("alice"), "bad", 2); // the last segment: found only by reading to the end
    flip(await owner("bob"), "bad-too", 0);
    db.close();

    const all = await finished((await call("POST", "/admin/verify", ADMIN_TOKEN)).json().jobId);
    expect(all).toMatchObject({ kind: "verify", state: "done", done: 8, total: 8 });
    expect(all.result.damagedCount).toBe(2);
    expect(all.result.damaged).toEqual(
      expect.arrayContaining([
        { owner: "alice", id: "bad", error: expect.stringMatching(/^integrity_error/) },
        { owner: "bob", id: "bad-too", error: expect.stringMatching(/^integrity_error/) },
      ]),
    );

    const one = await finished(
      (await call("POST", "/admin/verify", ADMIN_TOKEN, { user: "bob" })).json().jobId,
    );
    expect(one).toMatchObject({ done: 2, result: { damagedCount: 1 } });
    const mine = await finished((await call("POST", "/keys/verify", alice)).json().jobId, alice);
    expect(mine).toMatchObject({
      done: 6,
      result: { damagedCount: 1, damaged: [{ owner: "alice", id: "bad" }] },
    });
    expect((await call("POST", "/admin/verify", ADMIN_TOKEN, { user: "nobody" })).status).toBe(404);
    // A number is not a user name (bodies are never coerced: see strict-bodies.test.ts).
    expect((await call("POST", "/admin/verify", ADMIN_TOKEN, { user: 5 })).status).toBe(422);
    expect(
      (await call("POST", "/admin/verify", ADMIN_TOKEN, "[1]", { "content-type": "application/json" }))
        .status,
    ).toBe(422);
  });
});

describe.skipIf(!softhsmAvailable)("the KEK cache keeps the root provider off the request path", () => {
  it("with pkcs11 (SoftHSM2), many reads and writes unwrap the owner's KEK in the token once", async () => {
    const token = createSoftHsmToken({ label: "sse-cache-test", pin: "1111" });
    const hsm = await startApp({
      SSE_KEY_PROVIDER: "pkcs11",
      SSE_PKCS11_MODULE: token.module,
      SSE_PKCS11_TOKEN_LABEL: token.tokenLabel,
      SSE_PKCS11_PIN: token.pin,
    });
    try {
      const { token: bob } = await hsm.user("bob");
      let unwraps = 0;
      const unwrap = hsm.root.unwrap.bind(hsm.root);
      hsm.root.unwrap = (w, ad) => {
        unwraps++;
        return unwrap(w, ad);
      };
      const req = (method: "GET" | "PUT", url: string, payload?: string) =>
        hsm.app.inject({ method, url, payload, headers: { authorization: `Bearer ${bob}` } });
      for (let i = 0; i < 20; i++)
        expect((await req("PUT", `/data/k${i}`, `value ${i}`)).statusCode).toBe(201);
      // A cold cache met by a burst: one unwrap in the token, not one per request.
      hsm.services.keys.cache.clear();
      unwraps = 0;
      await Promise.all(Array.from({ length: 50 }, (_, i) => req("GET", `/data/k${i % 20}`)));
      for (let i = 0; i < 20; i++) expect((await req("GET", `/data/k${i}`)).body).toBe(`value ${i}`);
      expect(unwraps).toBe(1);
    } finally {
      await hsm.close();
      token.cleanup();
    }
  });
});
