// Every authenticated route × every kind of caller, with the status each must get. The subject of
// every cell is a fresh user "alice-N" who owns a token to revoke, an object and an item, so that
// no cell depends on another; "bob" is another user and "admin" the bootstrap admin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, issueToken, type Res, until } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { unknownToken } from "../helpers/tokens.js";

const CALLERS = [
  "none",
  "wrong",
  "expired",
  "revoked",
  "aliceRead",
  "aliceReadWrite",
  "otherUser",
  "admin",
] as const;
type Caller = (typeof CALLERS)[number];

interface Subject {
  name: string;
  tokens: Record<"read" | "readWrite" | "expired" | "revoked" | "spare", string>;
  spareId: string;
  objectId: string;
  itemId: number;
}

interface Route {
  label: string;
  request: (s: Subject) => { method: string; path: string; body?: unknown; headers?: Record<string, string> };
  /** Expected statuses in CALLERS order. */
  expect: [number, number, number, number, number, number, number, number];
}

const UNAUTH = [401, 401, 401, 401] as const;
let fresh = 0;

const ROUTES: Route[] = [
  {
    label: "GET /me",
    request: () => ({ method: "GET", path: "/me" }),
    expect: [...UNAUTH, 200, 200, 200, 200],
  },
  {
    label: "POST /users",
    request: () => ({ method: "POST", path: "/users", body: { name: `carol-${++fresh}`, role: "user" } }),
    expect: [...UNAUTH, 403, 403, 403, 201],
  },
  {
    label: "GET /users",
    request: () => ({ method: "GET", path: "/users" }),
    expect: [...UNAUTH, 403, 403, 403, 200],
  },
  {
    label: "GET /users/{name}",
    request: (s) => ({ method: "GET", path: `/users/${s.name}` }),
    expect: [...UNAUTH, 200, 200, 404, 200],
  },
  {
    label: "GET /users/{unknown}",
    request: () => ({ method: "GET", path: "/users/ghost" }),
    expect: [...UNAUTH, 404, 404, 404, 404],
  },
  {
    label: "DELETE /users/{name}",
    request: (s) => ({ method: "DELETE", path: `/users/${s.name}` }),
    expect: [...UNAUTH, 403, 403, 403, 204],
  },
  {
    label: "POST /users/{name}/tokens",
    request: (s) => ({
      method: "POST",
      path: `/users/${s.name}/tokens`,
      body: { scopes: ["read"], label: "new" },
    }),
    // The subject has enrolled (it issued its own tokens): the admin no longer may.
    expect: [...UNAUTH, 403, 201, 404, 403],
  },
  {
    label: "POST /users/{name}/reset",
    request: (s) => ({ method: "POST", path: `/users/${s.name}/reset`, body: {} }),
    expect: [...UNAUTH, 403, 403, 403, 201],
  },
  {
    label: "POST /users/{unknown}/tokens",
    request: () => ({ method: "POST", path: "/users/ghost/tokens", body: {} }),
    expect: [...UNAUTH, 403, 404, 404, 404],
  },
  {
    label: "GET /users/{name}/tokens",
    request: (s) => ({ method: "GET", path: `/users/${s.name}/tokens` }),
    expect: [...UNAUTH, 200, 200, 404, 200],
  },
  {
    label: "DELETE /users/{name}/tokens/{id}",
    request: (s) => ({ method: "DELETE", path: `/users/${s.name}/tokens/${s.spareId}` }),
    expect: [...UNAUTH, 403, 204, 404, 204],
  },
  {
    label: "POST /data",
    request: () => ({ method: "POST", path: "/data", body: { data: "hello" } }),
    expect: [...UNAUTH, 403, 200, 200, 200],
  },
  {
    label: "GET /data",
    request: () => ({ method: "GET", path: "/data" }),
    expect: [...UNAUTH, 200, 200, 200, 200],
  },
  {
    label: "GET /data/{object}",
    request: (s) => ({ method: "GET", path: `/data/${s.objectId}` }),
    expect: [...UNAUTH, 200, 200, 404, 404],
  },
  {
    label: "HEAD /data/{object}",
    request: (s) => ({ method: "HEAD", path: `/data/${s.objectId}` }),
    expect: [...UNAUTH, 200, 200, 404, 404],
  },
  {
    label: "GET /data/{item}",
    request: (s) => ({ method: "GET", path: `/data/${s.itemId}` }),
    expect: [...UNAUTH, 200, 200, 404, 404],
  },
  {
    // Another user's PUT creates its own object of that id: 201, never a replace of alice's.
    label: "PUT /data/{object}",
    request: (s) => ({
      method: "PUT",
      path: `/data/${s.objectId}`,
      body: "replacement",
      headers: { "content-type": "text/plain" },
    }),
    expect: [...UNAUTH, 403, 200, 201, 201],
  },
  {
    label: "DELETE /data/{object}",
    request: (s) => ({ method: "DELETE", path: `/data/${s.objectId}` }),
    expect: [...UNAUTH, 403, 204, 404, 404],
  },
];

describe("authorization matrix: every route × every caller", () => {
  let server: ServerProcess;
  let bob: string;
  const subjects = new Map<string, Subject>();
  const key = (route: number, caller: number) => `${route}:${caller}`;

  async function makeSubject(n: number): Promise<Subject> {
    const name = `alice-${n}`;
    await createUser(server, name);
    const [read, readWrite, expired, revoked, spare] = await Promise.all([
      issueToken(server, name, { scopes: ["read"] }),
      issueToken(server, name, { scopes: ["read", "write"] }),
      issueToken(server, name, { expiresInSeconds: 1 }),
      issueToken(server, name),
      issueToken(server, name, { label: "spare" }),
    ]);
    expect((await call(server, "DELETE", `/users/${name}/tokens/${revoked.id}`, server.token)).status).toBe(
      204,
    );
    const objectId = `${name}/doc.txt`;
    const put = await call(server, "PUT", `/data/${objectId}`, readWrite.token, `document of ${name}`, {
      "content-type": "text/plain",
    });
    expect(put.status, put.text).toBe(201);
    const item = await call(server, "POST", "/data", readWrite.token, {
      id: 1000 + n,
      data: `item of ${name}`,
    });
    expect(item.json).toEqual({ id: 1000 + n, data: `item of ${name}` });
    return {
      name,
      tokens: {
        read: read.token,
        readWrite: readWrite.token,
        expired: expired.token,
        revoked: revoked.token,
        spare: spare.token,
      },
      spareId: spare.id,
      objectId,
      itemId: 1000 + n,
    };
  }

  beforeAll(async () => {
    // Failures are the point here: never throttle them.
    server = await startServer({ env: { SSE_AUTH_FAILURE_LIMIT: "1000000" } });
    await createUser(server, "bob");
    bob = (await issueToken(server, "bob")).token;
    const cells: Array<[number, number]> = [];
    ROUTES.forEach((_, r) => {
      CALLERS.forEach((_, c) => {
        cells.push([r, c]);
      });
    });
    // A few subjects at a time: concurrent, without flooding two cores.
    for (let i = 0; i < cells.length; i += 8) {
      const batch = cells.slice(i, i + 8);
      const made = await Promise.all(batch.map(([r, c]) => makeSubject(r * CALLERS.length + c)));
      batch.forEach(([r, c], j) => {
        subjects.set(key(r, c), made[j]!);
      });
    }
    // The last expiring token made expires last: once it is refused, all are.
    const last = subjects.get(key(ROUTES.length - 1, CALLERS.length - 1))!;
    await until(
      async () => (await call(server, "GET", "/me", last.tokens.expired)).status === 401,
      "tokens to expire",
    );
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  function tokenOf(caller: Caller, s: Subject): string | null {
    switch (caller) {
      case "none":
        return null;
      case "wrong":
        return unknownToken();
      case "expired":
        return s.tokens.expired;
      case "revoked":
        return s.tokens.revoked;
      case "aliceRead":
        return s.tokens.read;
      case "aliceReadWrite":
        return s.tokens.readWrite;
      case "otherUser":
        return bob;
      case "admin":
        return server.token;
    }
  }

  const table = ROUTES.flatMap((route, r) =>
    CALLERS.map((caller, c) => ({ r, c, route: route.label, caller, status: route.expect[c]! })),
  );

  it.each(table)("$route as $caller → $status", async ({ r, c, caller, status }) => {
    const s = subjects.get(key(r, c))!;
    const req = ROUTES[r]!.request(s);
    const res: Res = await call(server, req.method, req.path, tokenOf(caller, s), req.body, req.headers);
    expect(res.status, res.text).toBe(status);
    if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    if (status >= 400 && req.method !== "HEAD") {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.json.status).toBe(status);
    }
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("the expected outcomes happened, not just the statuses", async () => {
    const adminCol = CALLERS.indexOf("admin");
    const rw = CALLERS.indexOf("aliceReadWrite");
    const routeIndex = (label: string) => ROUTES.findIndex((x) => x.label === label);
    // Deleted by the admin: the user's tokens stop working and its name is free.
    const deleted = subjects.get(key(routeIndex("DELETE /users/{name}"), adminCol))!;
    expect((await call(server, "GET", "/me", deleted.tokens.readWrite)).status).toBe(401);
    expect((await call(server, "GET", `/users/${deleted.name}`, server.token)).status).toBe(404);
    // Revoked by the user itself: the spare token stops working at once.
    const revoked = subjects.get(key(routeIndex("DELETE /users/{name}/tokens/{id}"), rw))!;
    expect((await call(server, "GET", "/me", revoked.tokens.spare)).status).toBe(401);
    // The admin's and bob's PUTs created their own objects; alice's document is untouched.
    const put = subjects.get(key(routeIndex("PUT /data/{object}"), adminCol))!;
    expect((await call(server, "GET", `/data/${put.objectId}`, put.tokens.read)).text).toBe(
      `document of ${put.name}`,
    );
    expect((await call(server, "GET", `/data/${put.objectId}`, server.token)).text).toBe("replacement");
    // Reset by the admin: every token of the user stops working; refused resets changed nothing.
    const reset = subjects.get(key(routeIndex("POST /users/{name}/reset"), adminCol))!;
    for (const t of [reset.tokens.read, reset.tokens.readWrite, reset.tokens.spare])
      expect((await call(server, "GET", "/me", t)).status).toBe(401);
    const notReset = subjects.get(key(routeIndex("POST /users/{name}/reset"), rw))!;
    expect((await call(server, "GET", "/me", notReset.tokens.spare)).status).toBe(200);
    // A refused delete left the object in place.
    const ro = subjects.get(key(routeIndex("DELETE /data/{object}"), CALLERS.indexOf("aliceRead")))!;
    expect((await call(server, "GET", `/data/${ro.objectId}`, ro.tokens.read)).status).toBe(200);
  });
});
