// User and token administration over HTTP: names, roles, token format and listing, expiry,
// immediate revocation, the self-service rules, and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, issueToken, until } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

describe("users and tokens over HTTP", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  describe("users", () => {
    it("the bootstrap admin is an ordinary admin user", async () => {
      const me = await call(server, "GET", "/me", server.token);
      expect(me.json).toEqual({
        name: "admin",
        role: "admin",
        token: { id: expect.any(String), scopes: ["read", "write"], expiresAt: null },
      });
      const users = await call(server, "GET", "/users", server.token);
      expect(users.json).toContainEqual({
        name: "admin",
        role: "admin",
        created: expect.any(String),
        enrolled: true,
      });
    });

    it("creates a user once: 201 with Location, then 409 user_exists", async () => {
      const r = await call(server, "POST", "/users", server.token, { name: "dave", role: "user" });
      expect(r.status).toBe(201);
      expect(r.headers.get("location")).toBe("/users/dave");
      expect(r.json).toEqual({ name: "dave", role: "user", created: expect.any(String), enrolled: false });
      expect(Date.parse(r.json.created)).not.toBeNaN();
      const again = await call(server, "POST", "/users", server.token, { name: "dave", role: "admin" });
      expect([again.status, again.json.code]).toEqual([409, "user_exists"]);
      expect((await call(server, "GET", "/users/dave", server.token)).json.role).toBe("user");
    });

    it.each(["a", "0", "a.b_c-d", "x".repeat(64), "9lives"])("accepts the name %j", async (name) => {
      expect((await call(server, "POST", "/users", server.token, { name, role: "user" })).status).toBe(201);
    });

    it.each(["", "A", "Alice", "-x", ".x", "_x", "x".repeat(65), "a b", "a/b", "é", "a\u0000"])(
      "refuses the name %j with 400 invalid_name",
      async (name) => {
        const r = await call(server, "POST", "/users", server.token, { name, role: "user" });
        expect([r.status, r.json.code]).toEqual([400, "invalid_name"]);
      },
    );

    it.each([
      [{ name: "erin" }, "no role"],
      [{ name: "erin", role: "root" }, "unknown role"],
      [{ name: "erin", role: "user", uid: "x" }, "unknown field"],
      [{ role: "user" }, "no name"],
      [[], "not an object"],
    ] as Array<[unknown, string]>)("refuses a malformed body (%j: %s) with 422", async (body) => {
      const r = await call(server, "POST", "/users", server.token, body);
      expect([r.status, r.json.code]).toEqual([422, "validation_error"]);
    });

    it("lists users without any secret", async () => {
      const r = await call(server, "GET", "/users", server.token);
      for (const u of r.json) expect(Object.keys(u).sort()).toEqual(["created", "enrolled", "name", "role"]);
      const names = r.json.map((u: { name: string }) => u.name);
      expect(names).toEqual([...names].sort());
    });

    it("answers 404 for an unknown user and 400 for an impossible name", async () => {
      expect((await call(server, "GET", "/users/nobody", server.token)).status).toBe(404);
      expect((await call(server, "DELETE", "/users/nobody", server.token)).status).toBe(404);
      expect((await call(server, "GET", "/users/nobody/tokens", server.token)).status).toBe(404);
      expect((await call(server, "GET", "/users/No%20Body", server.token)).json.code).toBe("invalid_name");
    });

    it("refuses the admin deleting itself, with 409", async () => {
      const r = await call(server, "DELETE", "/users/admin", server.token);
      expect([r.status, r.json.code]).toEqual([409, "cannot_delete_self"]);
      expect((await call(server, "GET", "/me", server.token)).status).toBe(200);
    });

    it("lets another admin create and delete users", async () => {
      await createUser(server, "ops", "admin");
      const ops = (await issueToken(server, "ops")).token;
      expect((await call(server, "POST", "/users", ops, { name: "temp", role: "user" })).status).toBe(201);
      expect((await call(server, "DELETE", "/users/temp", ops)).status).toBe(204);
      expect((await call(server, "GET", "/users/temp", ops)).status).toBe(404);
    });

    it("answers 405 with Allow for methods a resource lacks", async () => {
      const r = await call(server, "PATCH", "/users/admin", server.token, { role: "user" });
      expect([r.status, r.headers.get("allow")]).toEqual([405, "GET, DELETE"]);
      expect((await call(server, "PUT", "/users", server.token)).headers.get("allow")).toBe("GET, POST");
      expect((await call(server, "DELETE", "/me", server.token)).status).toBe(405);
    });
  });

  describe("tokens", () => {
    beforeAll(async () => {
      await createUser(server, "frank");
    });

    it("issues sse_ tokens shown once, listed without the secret", async () => {
      // frank is enrolling (it has used no token yet): the admin issues its first one.
      const r = await call(server, "POST", "/users/frank/tokens", server.token, {
        label: "laptop",
        expiresInSeconds: 3600,
      });
      expect(r.status).toBe(201);
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.json.token).toMatch(/^sse_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(r.json.token.slice(4, 20)).toBe(r.json.id);
      expect(r.json.scopes).toEqual(["read", "write"]);
      const expires = Date.parse(r.json.expiresAt) - Date.now();
      expect(expires).toBeGreaterThan(3_500_000);
      expect(expires).toBeLessThanOrEqual(3_600_000);

      const list = await call(server, "GET", "/users/frank/tokens", server.token);
      const t = list.json.find((x: { id: string }) => x.id === r.json.id);
      expect(t).toEqual({
        id: r.json.id,
        label: "laptop",
        scopes: ["read", "write"],
        created: expect.any(String),
        lastUsed: null,
        expiresAt: r.json.expiresAt,
        issuedBy: "admin",
      });
      expect(r.json.issuedBy).toBe("admin");
      expect(list.text).not.toContain(r.json.token.slice(21));

      expect((await call(server, "GET", "/me", r.json.token)).status).toBe(200);
      const used = await call(server, "GET", "/users/frank/tokens", r.json.token);
      expect(Date.parse(used.json.find((x: { id: string }) => x.id === r.json.id).lastUsed)).not.toBeNaN();
    });

    it("accepts an empty body or none at all, and refuses bad requests with 422", async () => {
      const frank = await issueToken(server, "frank");
      expect((await call(server, "POST", "/users/frank/tokens", frank.token)).status).toBe(201);
      expect(
        (
          await call(server, "POST", "/users/frank/tokens", frank.token, "", {
            "content-type": "application/json",
          })
        ).status,
      ).toBe(201);
      for (const body of [
        { scopes: [] },
        { scopes: ["admin"] },
        { expiresInSeconds: 0 },
        { expiresInSeconds: 1.5 },
        { expiresInSeconds: "soon" },
        { scope: ["read"] },
        { label: "x".repeat(129) },
        { role: "admin" },
      ]) {
        const r = await call(server, "POST", "/users/frank/tokens", frank.token, body);
        expect([r.status, r.json.code], JSON.stringify(body)).toEqual([422, "validation_error"]);
      }
      expect(
        (
          await call(server, "POST", "/users/frank/tokens", frank.token, "{", {
            "content-type": "application/json",
          })
        ).status,
      ).toBe(422);
    });

    it("stops an expired token", async () => {
      const t = await issueToken(server, "frank", { expiresInSeconds: 1 });
      expect((await call(server, "GET", "/me", t.token)).json.token.expiresAt).toBe(t.expiresAt);
      await until(
        async () => (await call(server, "GET", "/me", t.token)).status === 401,
        "the token to expire",
      );
      // Still listed, with its expiry, so its owner can see why.
      const list = await call(server, "GET", "/users/frank/tokens", server.token);
      expect(list.json.map((x: { id: string }) => x.id)).toContain(t.id);
    });

    it("revokes on the very next request", async () => {
      const t = await issueToken(server, "frank");
      expect((await call(server, "GET", "/data", t.token)).status).toBe(200);
      expect((await call(server, "DELETE", `/users/frank/tokens/${t.id}`, server.token)).status).toBe(204);
      const r = await call(server, "GET", "/data", t.token);
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expect((await call(server, "DELETE", `/users/frank/tokens/${t.id}`, server.token)).status).toBe(404);
      expect(
        (await call(server, "GET", "/users/frank/tokens", server.token)).json.map(
          (x: { id: string }) => x.id,
        ),
      ).not.toContain(t.id);
    });

    it("lets a token revoke itself", async () => {
      const t = await issueToken(server, "frank");
      expect((await call(server, "DELETE", `/users/frank/tokens/${t.id}`, t.token)).status).toBe(204);
      expect((await call(server, "GET", "/me", t.token)).status).toBe(401);
    });

    it("answers 404 for another user's token id under one's own name", async () => {
      await createUser(server, "gina");
      const gina = await issueToken(server, "gina");
      const frank = await issueToken(server, "frank");
      expect((await call(server, "DELETE", `/users/frank/tokens/${gina.id}`, frank.token)).status).toBe(404);
      expect((await call(server, "DELETE", `/users/frank/tokens/${gina.id}`, server.token)).status).toBe(404);
      expect((await call(server, "GET", "/me", gina.token)).status).toBe(200);
    });
  });

  describe("self-service", () => {
    let henry: string;

    beforeAll(async () => {
      await createUser(server, "henry");
      henry = (await issueToken(server, "henry")).token;
    });

    it("a user sees itself and its tokens, and nobody else: 404 as for a missing user", async () => {
      expect((await call(server, "GET", "/users/henry", henry)).json).toMatchObject({
        name: "henry",
        role: "user",
      });
      expect((await call(server, "GET", "/users/henry/tokens", henry)).status).toBe(200);
      const other = await call(server, "GET", "/users/admin", henry);
      const missing = await call(server, "GET", "/users/nobody", henry);
      expect([other.status, other.json.code]).toEqual([404, "not_found"]);
      expect(other.json.detail).toBe(missing.json.detail);
      expect((await call(server, "GET", "/users/admin/tokens", henry)).status).toBe(404);
      expect((await call(server, "POST", "/users/admin/tokens", henry, {})).status).toBe(404);
      expect((await call(server, "GET", "/users", henry)).status).toBe(403);
    });

    it("a user cannot make itself admin, nor create users", async () => {
      expect((await call(server, "POST", "/users", henry, { name: "henry2", role: "admin" })).status).toBe(
        403,
      );
      expect((await call(server, "POST", "/users/henry/tokens", henry, { role: "admin" })).status).toBe(422);
      expect((await call(server, "DELETE", "/users/henry", henry)).status).toBe(403);
      expect((await call(server, "GET", "/me", henry)).json.role).toBe("user");
    });

    it("a token creates tokens with at most its scopes and lifetime, by default exactly them", async () => {
      const writer = await issueToken(server, "henry", { scopes: ["write"], expiresInSeconds: 3600 });
      const child = await call(server, "POST", "/users/henry/tokens", writer.token, {});
      expect(child.status).toBe(201);
      expect(child.json.scopes).toEqual(["write"]);
      expect(child.json.expiresAt).toBe(writer.expiresAt);
      const more = await call(server, "POST", "/users/henry/tokens", writer.token, {
        scopes: ["read", "write"],
      });
      expect([more.status, more.json.code]).toEqual([403, "forbidden"]);
      const longer = await call(server, "POST", "/users/henry/tokens", writer.token, {
        expiresInSeconds: 7200,
      });
      expect([longer.status, longer.json.code]).toEqual([403, "forbidden"]);
      const shorter = await call(server, "POST", "/users/henry/tokens", writer.token, {
        expiresInSeconds: 60,
      });
      expect(shorter.status).toBe(201);
    });

    it("a read-only token reads but cannot manage tokens", async () => {
      const reader = await issueToken(server, "henry", { scopes: ["read"] });
      expect((await call(server, "GET", "/users/henry/tokens", reader.token)).status).toBe(200);
      expect(
        (await call(server, "POST", "/users/henry/tokens", reader.token, { scopes: ["read"] })).status,
      ).toBe(403);
      expect((await call(server, "DELETE", `/users/henry/tokens/${reader.id}`, reader.token)).status).toBe(
        403,
      );
      expect((await call(server, "PUT", "/data/x", reader.token, "x")).status).toBe(403);
      expect((await call(server, "POST", "/data", reader.token, { data: "x" })).status).toBe(403);
      expect((await call(server, "GET", "/me", reader.token)).json.token.scopes).toEqual(["read"]);
    });
  });

  describe("deleting a user", () => {
    it("removes its tokens and objects at once", async () => {
      await createUser(server, "ivan");
      const ivan = await issueToken(server, "ivan");
      expect((await call(server, "PUT", "/data/f", ivan.token, "ivan's file")).status).toBe(201);
      expect((await call(server, "DELETE", "/users/ivan", server.token)).status).toBe(204);
      expect((await call(server, "GET", "/me", ivan.token)).status).toBe(401);
      expect((await call(server, "GET", "/users/ivan", server.token)).status).toBe(404);
      expect((await call(server, "DELETE", "/users/ivan", server.token)).status).toBe(404);
    });
  });

  describe("the OpenAPI document", () => {
    it("documents the bearer scheme and every user route", async () => {
      const doc = (await call(server, "GET", "/openapi.json", null)).json;
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
      expect(doc.security).toEqual([{ bearer: [] }]);
      const routes: Array<[string, string, number]> = [
        ["/me", "get", 200],
        ["/users", "post", 201],
        ["/users", "get", 200],
        ["/users/{name}", "get", 200],
        ["/users/{name}", "delete", 204],
        ["/users/{name}/tokens", "post", 201],
        ["/users/{name}/tokens", "get", 200],
        ["/users/{name}/tokens/{id}", "delete", 204],
      ];
      for (const [path, method, ok] of routes) {
        const op = doc.paths[path]?.[method];
        expect(op, `${method} ${path}`).toBeDefined();
        expect(op.tags).toContain("users");
        expect(op.security).toBeUndefined();
        for (const status of [ok, 401, 429])
          expect(op.responses[String(status)], `${method} ${path} ${status}`).toBeDefined();
      }
      expect(doc.paths["/users/{name}/tokens"].post.requestBody).toBeDefined();
      expect(doc.paths["/data/{id}"].get.responses["429"]).toBeDefined();
      expect(doc.paths["/health"].get.security).toEqual([]);
    });
  });
});
