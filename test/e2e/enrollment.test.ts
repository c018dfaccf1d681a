// The onboarding model over HTTP: an admin issues a user's credentials only while the user is
// enrolling; afterwards only the user does, and the admin's way back in is a reset that revokes
// every credential at once (never silent). Admins never grant more than their own token has.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Res } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { waitFor } from "../helpers/wait-for.js";

describe("enrollment, reset and issuedBy", () => {
  let server: ServerProcess;
  let n = 0;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  const post = (path: string, token: string, body: unknown = {}) => call(server, "POST", path, token, body);
  const ok = (r: Res, status = 201) => {
    expect(r.status, r.text).toBe(status);
    return r.json;
  };
  async function newUser(role: "user" | "admin" = "user"): Promise<string> {
    const name = `enr-${++n}`;
    ok(await post("/users", server.token, { name, role }));
    return name;
  }

  it("an admin issues tokens while the user is enrolling, and none once it has used one", async () => {
    const name = await newUser();
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(false);
    const first = ok(await post(`/users/${name}/tokens`, server.token, { label: "first" }));
    const second = ok(await post(`/users/${name}/tokens`, server.token, { label: "second" }));
    expect([first.issuedBy, second.issuedBy]).toEqual(["admin", "admin"]);
    // Issuing is not enrolling: only the user's own authentication is.
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(false);
    expect((await call(server, "GET", "/me", first.token)).status).toBe(200);
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(true);

    const late = await post(`/users/${name}/tokens`, server.token, {});
    expect([late.status, late.json.code]).toEqual([403, "enrolled"]);
    expect(late.json.detail).toMatch(/only the user itself/);
    // Nothing was stored by the refusal.
    const list = ok(await call(server, "GET", `/users/${name}/tokens`, server.token), 200);
    expect(list.map((t: { label: string }) => t.label).sort()).toEqual(["first", "second"]);

    // The user issues its own, and sees who issued each.
    const own = ok(await post(`/users/${name}/tokens`, first.token, { label: "own" }));
    expect(own.issuedBy).toBe(name);
    const seen = ok(await call(server, "GET", `/users/${name}/tokens`, first.token), 200);
    expect(
      Object.fromEntries(seen.map((t: { label: string; issuedBy: string }) => [t.label, t.issuedBy])),
    ).toEqual({
      first: "admin",
      second: "admin",
      own: name,
    });
    // The admin still lists and revokes.
    expect((await call(server, "DELETE", `/users/${name}/tokens/${second.id}`, server.token)).status).toBe(
      204,
    );
    expect((await call(server, "GET", "/me", second.token)).status).toBe(401);
  });

  it("the same holds for another admin", async () => {
    const name = await newUser("admin");
    const t = ok(await post(`/users/${name}/tokens`, server.token, {}));
    expect((await call(server, "GET", "/users", t.token)).status).toBe(200);
    const late = await post(`/users/${name}/tokens`, server.token, {});
    expect([late.status, late.json.code]).toEqual([403, "enrolled"]);
    // And it cannot issue the bootstrap admin's credentials either: that admin has enrolled.
    const back = await post("/users/admin/tokens", t.token, {});
    expect([back.status, back.json.code]).toEqual([403, "enrolled"]);
  });

  it("a reset revokes every credential, issues one enrollment token, and the user sees it", async () => {
    const name = await newUser();
    const a = ok(await post(`/users/${name}/tokens`, server.token, { label: "a" }));
    const b = ok(await post(`/users/${name}/tokens`, a.token, { label: "b" }));
    ok(await call(server, "PUT", `/data/${name}-file`, a.token, "kept through the reset"));

    const reset = ok(await post(`/users/${name}/reset`, server.token, { label: "after reset" }));
    expect(reset).toMatchObject({ issuedBy: "reset", revoked: 2, label: "after reset" });
    expect(reset.token).toMatch(/^sse_/);
    for (const old of [a.token, b.token]) expect((await call(server, "GET", "/me", old)).status).toBe(401);
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(false);

    // The new token works, reads the user's data, and shows where it came from.
    expect((await call(server, "GET", `/data/${name}-file`, reset.token)).text).toBe(
      "kept through the reset",
    );
    const mine = ok(await call(server, "GET", `/users/${name}/tokens`, reset.token), 200);
    expect(mine).toEqual([expect.objectContaining({ id: reset.id, issuedBy: "reset" })]);
    expect((await call(server, "GET", `/users/${name}`, server.token)).json.enrolled).toBe(true);
    // And the admin is locked out again.
    const late = await post(`/users/${name}/tokens`, server.token, {});
    expect([late.status, late.json.code]).toEqual([403, "enrolled"]);
  });

  it("the reset is logged at warn with who did it, never the token", async () => {
    const name = await newUser();
    const reset = ok(await post(`/users/${name}/reset`, server.token));
    const resetLine = () =>
      server
        .output()
        .split("\n")
        .filter((l) => l.includes("user reset"))
        .map((l) => JSON.parse(l))
        .find((l) => l.user === name);
    await waitFor("the reset's log line", () => resetLine() !== undefined);
    const out = server.output();
    expect(resetLine()).toMatchObject({ level: 40, by: "admin", revokedCredentials: 0 });
    expect(out).not.toContain(reset.token);
    expect(out).not.toContain(reset.token.slice(21));
  });

  it("only admins reset, never themselves, and never unknown users", async () => {
    const name = await newUser();
    const t = ok(await post(`/users/${name}/tokens`, server.token, {}));
    const self = await post(`/users/${name}/reset`, t.token);
    expect(self.status).toBe(403);
    expect((await call(server, "GET", "/me", t.token)).status).toBe(200);
    const own = await post("/users/admin/reset", server.token);
    expect([own.status, own.json.code]).toEqual([409, "cannot_reset_self"]);
    expect((await call(server, "GET", "/me", server.token)).status).toBe(200);
    expect((await post("/users/nobody/reset", server.token)).status).toBe(404);
    expect((await post("/users/No%20Body/reset", server.token)).json.code).toBe("invalid_name");
    const get = await call(server, "GET", `/users/${name}/reset`, server.token);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    const bad = await post(`/users/${name}/reset`, server.token, { scopes: ["root"] });
    expect([bad.status, bad.json.code]).toEqual([422, "validation_error"]);
    expect((await call(server, "GET", "/me", t.token)).status).toBe(200);
  });

  it("an admin grants at most its own token's scopes and lifetime", async () => {
    // An admin whose own token is read+write for 60 s, and one that is read-only.
    const boss = await newUser("admin");
    const short = ok(await post(`/users/${boss}/tokens`, server.token, { expiresInSeconds: 60 }));
    const user = await newUser();

    const forever = await post(`/users/${user}/tokens`, short.token, {});
    const t = ok(forever);
    // By default the new credential expires with the admin's own token, not never.
    expect(Date.parse(t.expiresAt)).toBeLessThanOrEqual(Date.parse(short.expiresAt));
    const longer = await post(`/users/${user}/tokens`, short.token, { expiresInSeconds: 3600 });
    expect([longer.status, longer.json.code]).toEqual([403, "forbidden"]);
    const resetLonger = await post(`/users/${user}/reset`, short.token, { expiresInSeconds: 3600 });
    expect([resetLonger.status, resetLonger.json.code]).toEqual([403, "forbidden"]);
    // The failed reset revoked nothing.
    expect((await call(server, "GET", "/me", t.token)).status).toBe(200);

    const newAdmin = await newUser("admin");
    const mint = await post(`/users/${newAdmin}/tokens`, short.token, { expiresInSeconds: 30 });
    expect(ok(mint).scopes).toEqual(["read", "write"]);

    const readOnlyAdmin = ok(await post(`/users/${boss}/tokens`, short.token, { scopes: ["read"] }));
    const other = await newUser();
    // A read-only token cannot issue at all (write scope), so it cannot widen anything either.
    expect((await post(`/users/${other}/tokens`, readOnlyAdmin.token, { scopes: ["read"] })).status).toBe(
      403,
    );
  });

  it("an admin cannot mint more scopes than its own token has", async () => {
    const boss = await newUser("admin");
    const writeOnly = ok(await post(`/users/${boss}/tokens`, server.token, { scopes: ["write"] }));
    const user = await newUser();
    const wider = await post(`/users/${user}/tokens`, writeOnly.token, { scopes: ["read", "write"] });
    expect([wider.status, wider.json.code]).toEqual([403, "forbidden"]);
    const same = ok(await post(`/users/${user}/tokens`, writeOnly.token, {}));
    expect(same.scopes).toEqual(["write"]);
  });
});
