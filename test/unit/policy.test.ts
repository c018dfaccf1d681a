import { describe, expect, it } from "vitest";
import { decide } from "../../src/auth/policy.js";
import type { Principal } from "../../src/auth/principal.js";
import type { Role, Scope } from "../../src/store/records.js";

const caller = (name: string, role: Role, scopes: Scope[]): Principal => ({
  user: { uid: `uid-${name}`, name, role, created: new Date(0), enrolledAt: new Date(0) },
  token: {
    id: "0123456789abcdef",
    uid: `uid-${name}`,
    label: null,
    scopes,
    secretHash: Buffer.alloc(32),
    created: new Date(0),
    lastUsed: null,
    expiresAt: null,
    issuedBy: null,
  },
});

const alice = caller("alice", "user", ["read", "write"]);
const aliceRead = caller("alice", "user", ["read"]);
const admin = caller("root", "admin", ["read", "write"]);
const adminRead = caller("root", "admin", ["read"]);

describe("decide", () => {
  it("lets any token through a route without requirements", () => {
    expect(decide(aliceRead, {}).allowed).toBe(true);
  });

  it("checks the scope first, for every role and every name", () => {
    expect(decide(aliceRead, { scope: "write" })).toMatchObject({ allowed: false, code: "forbidden" });
    expect(decide(adminRead, { scope: "write", role: "admin" })).toMatchObject({
      allowed: false,
      code: "forbidden",
    });
    const selfRoute = { scope: "write" as const, role: "admin" as const, selfParam: "name" };
    expect(decide(aliceRead, selfRoute, { name: "bob" })).toMatchObject({
      allowed: false,
      code: "forbidden",
    });
  });

  it("closes admin routes to users with 403", () => {
    expect(decide(alice, { role: "admin" })).toMatchObject({ allowed: false, code: "forbidden" });
    expect(decide(admin, { role: "admin" }).allowed).toBe(true);
  });

  it("opens self-service routes to the named user and answers 404 for anyone else's name", () => {
    const route = { role: "admin" as const, selfParam: "name", scope: "read" as const };
    expect(decide(alice, route, { name: "alice" }).allowed).toBe(true);
    expect(decide(alice, route, { name: "bob" })).toMatchObject({ allowed: false, code: "not_found" });
    expect(decide(alice, route, {})).toMatchObject({ allowed: false, code: "not_found" });
    expect(decide(admin, route, { name: "bob" }).allowed).toBe(true);
  });
});
