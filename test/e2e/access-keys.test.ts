// S3 access keys over HTTP against a real server process on PostgreSQL, with a second instance on
// the same database and root key in this process standing in for the S3 listener (its lookup and
// authenticated): the admin-to-user matrix of tokens, reset, ceilings, who may do what, revocation
// seen at once by the other instance, the key versions that wrap the secrets, and no secret in the
// server's log.

import { rmSync } from "node:fs";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices, type Services } from "../../src/app.js";
import { CREDENTIAL_TTL_MS } from "../../src/auth/credential-cache.js";
import { loadConfig } from "../../src/config.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import { openStores } from "../../src/store/open-store.js";
import type { Stores } from "../../src/store/stores.js";
import { call, type Res, until } from "../helpers/api-client.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { waitFor } from "../helpers/wait-for.js";

let db: TestDatabase;
let dir: string;
let server: ServerProcess;
/** The second instance: what the S3 listener of any server process would call. */
let s3side: { services: Services; stores: Stores; root: RootKeyProvider };
/** Every secret and token the server handed out, to look for in its log at the end. */
const secrets: string[] = [];
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = tempDir("sse-e2e-access-keys-");
  server = await startServer({ dataDir: dir, env: { SSE_DATABASE_URL: db.url } });
  const config = loadConfig({ SSE_DATA_DIR: dir, SSE_DATABASE_URL: db.url, SSE_LOG_LEVEL: "silent" });
  const logger = pino({ level: "silent" });
  const stores = await openStores(config, logger);
  const root = createRootKeyProvider({ config, logger });
  await root.open();
  s3side = { services: buildServices(config, { stores, root, logger }), stores, root };
}, 120_000);

afterAll(async () => {
  await s3side?.stores.close();
  await s3side?.root.close();
  await server?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const post = (path: string, token: string, body: unknown = {}) => call(server, "POST", path, token, body);
const ok = (r: Res, status = 201) => {
  expect(r.status, r.text).toBe(status);
  if (r.json?.token) secrets.push(r.json.token);
  if (r.json?.secretAccessKey) secrets.push(r.json.secretAccessKey);
  return r.json;
};
const lookup = (id: string) => s3side.services.accessKeys.lookup(id);

async function newUser(role: "user" | "admin" = "user"): Promise<string> {
  const name = `ak-${++n}`;
  ok(await post("/users", server.token, { name, role }));
  return name;
}

/** `name` with a token the admin issued while it enrolled, used once (so `name` has enrolled). */
async function enrolledUser(role: "user" | "admin" = "user"): Promise<{ name: string; token: string }> {
  const name = await newUser(role);
  const { token } = ok(await post(`/users/${name}/tokens`, server.token));
  expect((await call(server, "GET", "/me", token)).status).toBe(200);
  return { name, token };
}

describe("issue, list and revoke", () => {
  it("an admin issues a user's access keys while it enrolls, and none once it has used a credential", async () => {
    const name = await newUser();
    const r = await post(`/users/${name}/access-keys`, server.token, { label: "backup" });
    const first = ok(r);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(first).toEqual({
      accessKeyId: expect.stringMatching(/^SSEK[0-9A-F]{16}$/),
      secretAccessKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      label: "backup",
      scopes: ["read", "write"],
      expiresAt: null,
      issuedBy: "admin",
    });
    // Issuing is not enrolling.
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(false);

    const { token } = ok(await post(`/users/${name}/tokens`, server.token));
    expect((await call(server, "GET", "/me", token)).status).toBe(200);
    const late = await post(`/users/${name}/access-keys`, server.token, { label: "late" });
    expect([late.status, late.json.code]).toEqual([403, "enrolled"]);

    const own = ok(await post(`/users/${name}/access-keys`, token, { label: "own", scopes: ["read"] }));
    expect(own).toMatchObject({ issuedBy: name, scopes: ["read"] });
    const listed = await call(server, "GET", `/users/${name}/access-keys`, token);
    expect(ok(listed, 200)).toEqual([
      {
        accessKeyId: first.accessKeyId,
        label: "backup",
        scopes: ["read", "write"],
        created: expect.any(String),
        lastUsed: null,
        expiresAt: null,
        issuedBy: "admin",
      },
      expect.objectContaining({ accessKeyId: own.accessKeyId, label: "own", issuedBy: name }),
    ]);
    // A listing never carries a secret, nor does the admin's.
    const adminList = await call(server, "GET", `/users/${name}/access-keys`, server.token);
    for (const text of [listed.text, adminList.text]) {
      expect(text).not.toContain(first.secretAccessKey);
      expect(text).not.toContain(own.secretAccessKey);
      expect(text).not.toMatch(/secret/i);
    }

    // The admin still revokes, and the other instance refuses the key within a second (its cache).
    expect((await lookup(first.accessKeyId))?.secret).toBe(first.secretAccessKey);
    expect(
      (await call(server, "DELETE", `/users/${name}/access-keys/${first.accessKeyId}`, server.token)).status,
    ).toBe(204);
    const revokedAt = Date.now();
    await waitFor(
      "the other instance to refuse the revoked key",
      async () => (await lookup(first.accessKeyId)) === null,
      {
        timeoutMs: 3000,
      },
    );
    expect(Date.now() - revokedAt).toBeLessThan(CREDENTIAL_TTL_MS + 500);
    // The user revokes its own too.
    expect(
      (await call(server, "DELETE", `/users/${name}/access-keys/${own.accessKeyId}`, token)).status,
    ).toBe(204);
    await waitFor(
      "the other instance to refuse the second key",
      async () => (await lookup(own.accessKeyId)) === null,
      {
        timeoutMs: 3000,
      },
    );
    expect(ok(await call(server, "GET", `/users/${name}/access-keys`, token), 200)).toEqual([]);
  });

  it("a first authenticated S3 request enrolls the user, on every instance", async () => {
    const name = await newUser();
    const key = ok(await post(`/users/${name}/access-keys`, server.token));
    const found = await lookup(key.accessKeyId);
    expect(found?.caller).toMatchObject({
      user: { name },
      accessKeyId: key.accessKeyId,
      scopes: ["read", "write"],
    });
    await s3side.services.accessKeys.authenticated(found!.caller);
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(true);
    for (const path of [`/users/${name}/access-keys`, `/users/${name}/tokens`]) {
      const late = await post(path, server.token);
      expect([late.status, late.json.code], path).toEqual([403, "enrolled"]);
    }
    await until(async () => {
      const [k] = ok(await call(server, "GET", `/users/${name}/access-keys`, server.token), 200);
      return k.lastUsed !== null;
    }, "lastUsed of the key");
  });

  it("a reset revokes every access key with the tokens, and lists them no more", async () => {
    const name = await newUser();
    const byAdmin = ok(await post(`/users/${name}/access-keys`, server.token));
    const { token } = ok(await post(`/users/${name}/tokens`, server.token));
    const own = ok(await post(`/users/${name}/access-keys`, token));
    const reset = ok(await post(`/users/${name}/reset`, server.token));
    expect(reset).toMatchObject({ revoked: 3, issuedBy: "reset" });
    for (const k of [byAdmin, own]) expect(await lookup(k.accessKeyId)).toBeNull();
    expect((await call(server, "GET", "/me", token)).status).toBe(401);
    expect(ok(await call(server, "GET", `/users/${name}/access-keys`, server.token), 200)).toEqual([]);
    // Enrolling again: the admin may issue a key once more, until the user uses its new token.
    const again = ok(await post(`/users/${name}/access-keys`, server.token));
    const listed = ok(await call(server, "GET", `/users/${name}/access-keys`, reset.token), 200);
    expect(listed).toEqual([expect.objectContaining({ accessKeyId: again.accessKeyId, issuedBy: "admin" })]);
    const late = await post(`/users/${name}/access-keys`, server.token);
    expect([late.status, late.json.code]).toEqual([403, "enrolled"]);
  });
});

describe("ceilings and validation", () => {
  it("an admin gives at most its own token's scopes and lifetime", async () => {
    const boss = await enrolledUser("admin");
    const short = ok(await post(`/users/${boss.name}/tokens`, boss.token, { expiresInSeconds: 60 }));
    const user = await newUser();
    const k = ok(await post(`/users/${user}/access-keys`, short.token));
    expect(Date.parse(k.expiresAt)).toBeLessThanOrEqual(Date.parse(short.expiresAt));
    const longer = await post(`/users/${user}/access-keys`, short.token, { expiresInSeconds: 3600 });
    expect([longer.status, longer.json.code]).toEqual([403, "forbidden"]);
    expect(longer.json.detail).toMatch(/access key that outlives it/);

    const writeOnly = ok(await post(`/users/${boss.name}/tokens`, boss.token, { scopes: ["write"] }));
    const wider = await post(`/users/${user}/access-keys`, writeOnly.token, { scopes: ["read", "write"] });
    expect([wider.status, wider.json.code]).toEqual([403, "forbidden"]);
    expect(ok(await post(`/users/${user}/access-keys`, writeOnly.token)).scopes).toEqual(["write"]);
    // A read-only token lists but never issues or revokes.
    const readOnly = ok(await post(`/users/${boss.name}/tokens`, boss.token, { scopes: ["read"] }));
    expect((await post(`/users/${user}/access-keys`, readOnly.token, { scopes: ["read"] })).status).toBe(403);
    expect(
      (await call(server, "DELETE", `/users/${user}/access-keys/${k.accessKeyId}`, readOnly.token)).status,
    ).toBe(403);
    expect((await call(server, "GET", `/users/${user}/access-keys`, readOnly.token)).status).toBe(200);
    expect(await lookup(k.accessKeyId)).not.toBeNull();
  });

  it("refuses bad bodies with 422 and stores nothing", async () => {
    const user = await newUser();
    for (const body of [
      { scopes: ["root"] },
      { scopes: [] },
      { scope: ["read"] },
      { expiresInSeconds: 0 },
      { expiresInSeconds: 1.5 },
      { label: "x".repeat(129) },
      [],
    ]) {
      const r = await post(`/users/${user}/access-keys`, server.token, body);
      expect([r.status, r.json.code], JSON.stringify(body)).toEqual([422, "validation_error"]);
    }
    const bad = await call(server, "POST", `/users/${user}/access-keys`, server.token, "{not json", {
      "content-type": "application/json",
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(ok(await call(server, "GET", `/users/${user}/access-keys`, server.token), 200)).toEqual([]);
    // No body at all, or an empty one, means all defaults.
    ok(await call(server, "POST", `/users/${user}/access-keys`, server.token));
    ok(
      await call(server, "POST", `/users/${user}/access-keys`, server.token, "", {
        "content-type": "application/json",
      }),
    );
  });
});

describe("who may do what", () => {
  it("admin or self; 404 for another user's keys, unknown keys and users; 405 with Allow; 401 without a token", async () => {
    const alice = await enrolledUser();
    const bob = await enrolledUser();
    const bobKey = ok(await post(`/users/${bob.name}/access-keys`, bob.token));
    // Alice naming bob: 404, as for a user that does not exist.
    for (const [method, path] of [
      ["GET", `/users/${bob.name}/access-keys`],
      ["POST", `/users/${bob.name}/access-keys`],
      ["DELETE", `/users/${bob.name}/access-keys/${bobKey.accessKeyId}`],
    ] as const)
      expect(
        (await call(server, method, path, alice.token, method === "POST" ? {} : undefined)).status,
        path,
      ).toBe(404);
    // Bob's key through alice's own name: not hers.
    const theirs = await call(
      server,
      "DELETE",
      `/users/${alice.name}/access-keys/${bobKey.accessKeyId}`,
      alice.token,
    );
    expect([theirs.status, theirs.json.code]).toEqual([404, "not_found"]);
    const wrongUser = await call(
      server,
      "DELETE",
      `/users/${alice.name}/access-keys/${bobKey.accessKeyId}`,
      server.token,
    );
    expect(wrongUser.status).toBe(404);
    expect(await lookup(bobKey.accessKeyId)).not.toBeNull();

    for (const id of ["SSEK0000000000000000", "not-a-key", `ssek${"0".repeat(16)}`])
      expect(
        (await call(server, "DELETE", `/users/${bob.name}/access-keys/${id}`, bob.token)).status,
        id,
      ).toBe(404);
    expect((await call(server, "GET", "/users/nobody/access-keys", server.token)).status).toBe(404);
    expect((await call(server, "GET", "/users/No%20Body/access-keys", server.token)).json.code).toBe(
      "invalid_name",
    );

    const put = await call(server, "PUT", `/users/${bob.name}/access-keys`, bob.token, {});
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, POST"]);
    const get = await call(server, "GET", `/users/${bob.name}/access-keys/${bobKey.accessKeyId}`, bob.token);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "DELETE"]);
    const anon = await call(server, "GET", `/users/${bob.name}/access-keys`, null);
    expect([anon.status, anon.headers.get("www-authenticate")]).toEqual([
      401,
      expect.stringMatching(/^Bearer/),
    ]);
  });

  it("deleting a user deletes its access keys", async () => {
    const carol = await enrolledUser();
    const k = ok(await post(`/users/${carol.name}/access-keys`, carol.token));
    expect((await call(server, "DELETE", `/users/${carol.name}`, server.token)).status).toBe(204);
    expect(await lookup(k.accessKeyId)).toBeNull();
  });

  it("the OpenAPI document describes the three routes", async () => {
    const doc = (await call(server, "GET", "/openapi.json", null)).json;
    expect(Object.keys(doc.paths["/users/{name}/access-keys"])).toEqual(
      expect.arrayContaining(["get", "post"]),
    );
    expect(Object.keys(doc.paths["/users/{name}/access-keys/{accessKeyId}"])).toEqual(["delete"]);
  });
});

describe("key versions", () => {
  it("a secret keeps its version from being retired until a rewrap moves it; the key works throughout", async () => {
    const dave = await enrolledUser();
    const k = ok(await post(`/users/${dave.name}/access-keys`, dave.token));
    const rotated = ok(await post("/keys/rotate", dave.token), 200);
    expect(rotated.versions).toEqual([
      expect.objectContaining({ version: 1, objects: 0, accessKeys: 1 }),
      expect.objectContaining({ version: 2, objects: 0, accessKeys: 0 }),
    ]);
    const refused = await post("/keys/min-decryption-version", dave.token, { version: 2 });
    expect([refused.status, refused.json.code]).toEqual([409, "key_version_in_use"]);
    expect(refused.json.detail).toMatch(/1 access key secret/);

    const { jobId } = ok(await post("/keys/rewrap", dave.token), 202);
    await until(
      async () => (await call(server, "GET", `/jobs/${jobId}`, dave.token)).json.state === "done",
      "the rewrap",
    );
    const retired = ok(await post("/keys/min-decryption-version", dave.token, { version: 2 }), 200);
    expect(retired.versions).toEqual([expect.objectContaining({ version: 2, accessKeys: 1 })]);
    expect((await lookup(k.accessKeyId))?.secret).toBe(k.secretAccessKey);
  });
});

describe("the log", () => {
  it("holds no secret access key and no token the server handed out", async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const out = server.output();
    expect(out).toMatch(/access key issued/);
    expect(out).toMatch(/access key revoked/);
    for (const s of secrets) expect(out).not.toContain(s);
  });
});
