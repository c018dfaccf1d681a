// Per-user namespaces over HTTP: two users write the same ids, objects and items, and never see,
// change or delete each other's; the admin sees neither.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, issueToken } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

describe("per-user isolation", () => {
  let server: ServerProcess;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    server = await startServer();
    await createUser(server, "alice");
    await createUser(server, "bob");
    alice = (await issueToken(server, "alice")).token;
    bob = (await issueToken(server, "bob")).token;
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it("gives the same object id two independent objects", async () => {
    const id = "/data/shared/report.txt";
    const a = await call(server, "PUT", id, alice, "alice's report", { "content-type": "text/plain" });
    const b = await call(server, "PUT", id, bob, "bob's much longer report", {
      "content-type": "text/markdown",
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.json.etag).not.toBe(b.json.etag);

    expect((await call(server, "GET", id, alice)).text).toBe("alice's report");
    expect((await call(server, "GET", id, bob)).text).toBe("bob's much longer report");
    const head = await call(server, "HEAD", id, bob);
    expect(head.headers.get("content-length")).toBe(String("bob's much longer report".length));
    expect(head.headers.get("content-type")).toMatch(/^text\/markdown/);

    // A precondition with the other user's ETag never matches.
    const cross = await call(server, "PUT", id, bob, "x", { "if-match": a.json.etag });
    expect(cross.status).toBe(412);
    const range = await call(server, "GET", id, alice, undefined, { range: "bytes=0-4" });
    expect([range.status, range.text]).toEqual([206, "alice"]);
  });

  it("gives each user its own item ids, starting at 1", async () => {
    const a1 = await call(server, "POST", "/data", alice, { data: "alice one" });
    const b1 = await call(server, "POST", "/data", bob, { data: "bob one" });
    expect(a1.json).toEqual({ id: 1, data: "alice one" });
    expect(b1.json).toEqual({ id: 1, data: "bob one" });
    // An id taken by the other user is free in one's own namespace.
    const a7 = await call(server, "POST", "/data", alice, { id: 7, data: "alice seven" });
    const b7 = await call(server, "POST", "/data", bob, { id: 7, data: "bob seven" });
    expect([a7.json.id, b7.json.id]).toEqual([7, 7]);
    const bNext = await call(server, "POST", "/data", bob, { data: "bob eight" });
    expect(bNext.json.id).toBe(8);

    expect((await call(server, "GET", "/data/1", alice)).json).toEqual({ id: 1, data: "alice one" });
    expect((await call(server, "GET", "/data/1", bob)).json).toEqual({ id: 1, data: "bob one" });
    expect((await call(server, "GET", "/data/7", bob)).json).toEqual({ id: 7, data: "bob seven" });
  });

  it("lists only the caller's ids", async () => {
    await call(server, "PUT", "/data/only-alice", alice, "mine");
    await call(server, "PUT", "/data/only-bob", bob, "mine");
    expect((await call(server, "GET", "/data", alice)).json).toEqual([
      1,
      7,
      "only-alice",
      "shared/report.txt",
    ]);
    expect((await call(server, "GET", "/data", bob)).json).toEqual([
      1,
      7,
      8,
      "only-bob",
      "shared/report.txt",
    ]);
    expect((await call(server, "GET", "/data?prefix=only", bob)).json).toEqual(["only-bob"]);
  });

  it("answers 404, never 403, for another user's object, and leaves it alone", async () => {
    for (const [method, path] of [
      ["GET", "/data/only-alice"],
      ["HEAD", "/data/only-alice"],
      ["DELETE", "/data/only-alice"],
    ] as const) {
      const r = await call(server, method, path, bob);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    // The same answer as for an id nobody has.
    const ghost = await call(server, "GET", "/data/nobody-has-this", bob);
    const other = await call(server, "GET", "/data/only-alice", bob);
    expect([ghost.json.code, other.json.code]).toEqual(["not_found", "not_found"]);
    // If-None-Match: * looks only at the caller's namespace.
    const put = await call(server, "PUT", "/data/only-alice", bob, "bob's own", { "if-none-match": "*" });
    expect(put.status).toBe(201);
    expect((await call(server, "GET", "/data/only-alice", alice)).text).toBe("mine");
  });

  it("deletes only in the caller's namespace", async () => {
    expect((await call(server, "DELETE", "/data/shared/report.txt", alice)).status).toBe(204);
    expect((await call(server, "GET", "/data/shared/report.txt", alice)).status).toBe(404);
    expect((await call(server, "GET", "/data/shared/report.txt", bob)).text).toBe("bob's much longer report");
    expect((await call(server, "DELETE", "/data/1", bob)).status).toBe(204);
    expect((await call(server, "GET", "/data/1", alice)).json).toEqual({ id: 1, data: "alice one" });
  });

  it("shows the admin none of it: the admin has a namespace of its own", async () => {
    expect((await call(server, "GET", "/data", server.token)).json).toEqual([]);
    for (const path of ["/data/only-alice", "/data/only-bob", "/data/7", "/data/shared/report.txt"])
      expect((await call(server, "GET", path, server.token)).status, path).toBe(404);
    const mine = await call(server, "POST", "/data", server.token, { data: "admin's" });
    expect(mine.json).toEqual({ id: 1, data: "admin's" });
  });

  it("keeps a deleted user's ids from ever reappearing under the same name", async () => {
    await createUser(server, "carol");
    const carol = (await issueToken(server, "carol")).token;
    await call(server, "PUT", "/data/carol-file", carol, "carol's");
    await call(server, "POST", "/data", carol, { data: "carol item" });
    expect((await call(server, "DELETE", "/users/carol", server.token)).status).toBe(204);
    await createUser(server, "carol");
    const carol2 = (await issueToken(server, "carol")).token;
    expect((await call(server, "GET", "/data", carol2)).json).toEqual([]);
    expect((await call(server, "GET", "/data/carol-file", carol2)).status).toBe(404);
    expect((await call(server, "POST", "/data", carol2, { data: "new" })).json.id).toBe(1);
  });
});
