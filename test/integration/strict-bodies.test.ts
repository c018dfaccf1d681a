// Every JSON body is typed strictly: a number sent as a string, a single value where an array is
// expected, or an unknown field is a 422 validation_error, and nothing changes. (Fastify's default
// validator would coerce "2" to 2 and "read" to ["read"], and drop unknown fields silently.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

let t: TestApp;

beforeAll(async () => {
  t = await startApp();
  await t.user("alice");
});
afterAll(async () => {
  await t.close();
});

async function post(url: string, payload: unknown) {
  const res = await t.app.inject({
    method: "POST",
    url,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    payload: JSON.stringify(payload),
  });
  return { status: res.statusCode, code: (res.json() as { code?: string }).code };
}

describe("strict JSON bodies", () => {
  it.each([
    ["/keys/min-decryption-version", { version: "1" }],
    ["/users/alice/key/min-decryption-version", { version: "1" }],
    ["/keys/min-decryption-version", { version: 1, extra: true }],
    ["/users/alice/tokens", { expiresInSeconds: "60" }],
    ["/users/alice/tokens", { scopes: "read" }],
    ["/users/alice/tokens", { label: 5 }],
    ["/users", { name: "bob", role: "user", admin: true }],
    ["/users", { name: 7, role: "user" }],
    ["/admin/verify", { user: 5 }],
    ["/data", { id: 1, data: 5 }],
    ["/data/doc/link", { expiresInSeconds: "60" }],
  ] as Array<[string, unknown]>)("POST %s %j is a 422", async (url, body) => {
    expect(await post(url, body)).toEqual({ status: 422, code: "validation_error" });
  });

  it("changed nothing, and the same requests with the right types succeed", async () => {
    const users = await t.app.inject({ url: "/users", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((users.json() as { name: string }[]).map((u) => u.name).sort()).toEqual(["admin", "alice"]);
    expect((await post("/users/alice/tokens", { expiresInSeconds: 60, scopes: ["read"] })).status).toBe(201);
    expect((await post("/keys/min-decryption-version", { version: 1 })).status).toBe(200);
    expect((await post("/admin/verify", { user: "alice" })).status).toBe(202);
  });
});
