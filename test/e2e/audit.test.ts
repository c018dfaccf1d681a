// The audit log against a real server process, on SQLite and on PostgreSQL alike: events for what
// users and admins do, none carrying a secret (the stored log is grepped for every token, access key
// secret and link the test was given); reading it back; `ssestore audit verify` offline, which names
// the first record each tampering broke; and fail-closed when the log cannot be written.
import { rmSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, createUser, issueToken } from "../helpers/api-client.js";
import { auditVerify, type LogStore, newLogStore, savePublicKey } from "../helpers/audit-log.js";
import { expectEveryTamperingNamed } from "../helpers/audit-tampering.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}, dataDir?: string): Promise<ServerProcess> {
  const s = await startServer({ env: { SSE_LOG_LEVEL: "warn", ...env }, ...(dataDir ? { dataDir } : {}) });
  servers.push(s);
  return s;
}

// biome-ignore lint/suspicious/noExplicitAny: events are checked field by field
type Event = any;

async function adminEvents(s: ServerProcess, query = ""): Promise<Event[]> {
  const r = await call(s, "GET", `/admin/audit?limit=1000${query}`, s.token);
  expect(r.status, r.text).toBe(200);
  return r.json.events;
}

describe.each(["sqlite", "postgres"] as const)("the audit log on %s", (kind) => {
  let dir: string;
  let store: LogStore;
  beforeEach(async () => {
    dir = tempDir("sse-e2e-audit-");
    dirs.push(dir);
    store = await newLogStore(kind, dir);
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.kill();
    await store.drop();
  });
  const startOnStore = (env: Record<string, string> = {}) => start({ ...store.env, ...env }, store.dataDir);

  it("records who did what, keeps every secret out, and serves a user's own view", async () => {
    const s = await startOnStore({ SSE_AUDIT_READS: "true" });
    const t = { url: s.url, token: s.token };
    await createUser(t, "alice");
    const alice = await issueToken(t, "alice");
    const wrongToken = "sse_not_a_real_token_at_all_0123456789abcdef";
    const secrets = [s.token, alice.token, wrongToken];
    const put = await call(s, "PUT", "/data/secret-plans.txt", alice.token, "hello");
    expect(put.status).toBe(201);
    expect((await call(s, "GET", "/data/secret-plans.txt", alice.token)).status).toBe(200);
    const link = await call(s, "POST", "/data/secret-plans.txt/link", alice.token, { expiresInSeconds: 60 });
    expect(link.status, link.text).toBe(201);
    secrets.push(new URL(link.json.url).pathname.split("/")[2]!);
    expect((await fetch(link.json.url)).status).toBe(200);
    const ak = await call(s, "POST", "/users/alice/access-keys", alice.token, {});
    expect(ak.status, ak.text).toBe(201);
    secrets.push(ak.json.secretAccessKey);
    expect((await call(s, "POST", "/keys/rotate", alice.token)).status).toBe(200);
    expect((await call(s, "DELETE", "/data/secret-plans.txt", alice.token)).status).toBe(204);
    const reset = await call(s, "POST", "/users/alice/reset", s.token);
    expect(reset.status, reset.text).toBe(201);
    secrets.push(reset.json.token);
    expect((await call(s, "GET", "/me", wrongToken)).status).toBe(401);

    const events = await adminEvents(s);
    const done = events.filter((e) => e.outcome !== "pending").map((e) => e.action);
    for (const a of [
      "user.create",
      "token.issue",
      "object.write",
      "object.read",
      "link.create",
      "link.download",
      "access_key.issue",
      "key.rotate",
      "object.delete",
      "user.reset",
      "auth.failure",
    ])
      expect(done, a).toContain(a);
    const write = events.find((e) => e.action === "object.write" && e.outcome === "ok");
    expect(write).toMatchObject({
      status: 201,
      api: "native",
      actor: { credential: alice.id },
      keyVersion: 1,
    });
    expect(write.target.object).toMatch(/^[0-9a-f]{64}$/);
    const read = events.find((e) => e.action === "object.read");
    expect(read).toMatchObject({
      outcome: "ok",
      status: 200,
      keyVersion: 1,
      target: { object: write.target.object },
    });
    expect(write.requestId).toBeTruthy();
    expect(write.client).toBe("127.0.0.1");
    const stored = await store.open();
    const text = JSON.stringify(events) + (await stored.rawText());
    await stored.close();
    // The grep reads the stored events: what they may name is there.
    expect(text).toContain(ak.json.accessKeyId);
    expect(text).toContain("link.download");
    for (const secret of secrets) expect(text.includes(secret), "a secret in the audit log").toBe(false);
    expect(JSON.stringify(events)).not.toContain("secret-plans");

    // Alice sees the admin's reset of her account, and nothing of the admin's other actions.
    const fresh = reset.json.token as string;
    const mine = await call(s, "GET", "/me/audit?limit=1000", fresh);
    expect(mine.status, mine.text).toBe(200);
    const actions = mine.json.events.map((e: Event) => e.action);
    expect(actions).toContain("user.reset");
    expect(actions).not.toContain("auth.failure");
    expect((await call(s, "GET", "/admin/audit", fresh)).status).toBe(403);
    // Filters and paging.
    const writes = await adminEvents(s, "&action=object.");
    expect(writes.every((e) => e.action.startsWith("object."))).toBe(true);
    const p1 = await call(s, "GET", "/admin/audit?limit=2", s.token);
    const p2 = await call(s, "GET", `/admin/audit?limit=2&after=${p1.json.next}`, s.token);
    expect(p2.json.events[0].seq).toBe(p1.json.events[1].seq + 1);
    expect((await call(s, "GET", "/admin/audit?since=yesterday-ish", s.token)).status).toBe(400);
  });

  it("verifies offline after shutdown, and names the first record each tampering broke", async () => {
    const exportFile = path.join(dir, "checkpoints.jsonl");
    const keyFile = path.join(dir, "audit.pub");
    // Two runs: the first one's shutdown checkpoint sits mid-chain, the second's ends it.
    let s = await startOnStore({ SSE_AUDIT_EXPORT: exportFile });
    await createUser({ url: s.url, token: s.token }, "bob");
    for (let i = 0; i < 5; i++)
      expect((await call(s, "POST", "/data", s.token, { data: `x${i}` })).status).toBe(200);
    await savePublicKey(s, keyFile);
    expect(await s.stop()).toBe(0);
    s = await startOnStore({ SSE_AUDIT_EXPORT: exportFile });
    for (let i = 0; i < 3; i++)
      expect((await call(s, "POST", "/data", s.token, { data: `y${i}` })).status).toBe(200);
    expect((await call(s, "PUT", "/data/z.bin", s.token, "z")).status).toBe(201);
    expect((await call(s, "DELETE", "/data/z.bin", s.token)).status).toBe(204);
    expect(await s.stop()).toBe(0);
    servers.splice(0);

    const intact = await auditVerify(store.where, keyFile, exportFile);
    expect(intact.code, intact.out).toBe(0);
    expect(intact.result).toMatchObject({ ok: true, checkpoints: 2 });
    expect(intact.result!.lastCheckpointed).toBe(intact.result!.last - 1);
    const stored = await store.open();
    try {
      await expectEveryTamperingNamed(stored, store.where, keyFile, exportFile);
    } finally {
      await stored.close();
    }
  }, 90_000);

  it("with the log required, refuses what it cannot record (changes and reads), and changes nothing", async () => {
    const s = await startOnStore({ SSE_AUDIT_REQUIRED: "true", SSE_AUDIT_READS: "true" });
    expect((await call(s, "POST", "/data", s.token, { id: 1, data: "before" })).status).toBe(200);
    expect((await call(s, "PUT", "/data/kept.bin", s.token, "kept bytes")).status).toBe(201);
    const link = await call(s, "POST", "/data/kept.bin/link", s.token, { expiresInSeconds: 300 });
    expect(link.status, link.text).toBe(201);
    const stored = await store.open();
    await stored.failAppends();
    try {
      const refused = await call(s, "POST", "/data", s.token, { id: 2, data: "after" });
      expect(refused.status).toBe(503);
      expect(refused.json.code).toBe("audit_unavailable");
      expect((await call(s, "PUT", "/data/x.bin", s.token, "bytes")).status).toBe(503);
      expect((await call(s, "DELETE", "/data/kept.bin", s.token)).status).toBe(503);
      expect((await call(s, "POST", "/users", s.token, { name: "carol", role: "user" })).status).toBe(503);
      // A read that cannot be recorded is refused whole: not a byte, nor a header, of the object.
      const read = await call(s, "GET", "/data/kept.bin", s.token);
      expect(read.status).toBe(503);
      expect(read.json.code).toBe("audit_unavailable");
      for (const h of ["etag", "last-modified", "x-key-version", "accept-ranges", "content-disposition"])
        expect(read.headers.get(h), h).toBeNull();
      expect(read.headers.get("x-request-id")).toBeTruthy();
      const download = await fetch(link.json.url);
      expect(download.status).toBe(503);
      expect(await download.text()).not.toContain("kept bytes");
      for (const h of ["etag", "content-disposition", "x-key-version"])
        expect(download.headers.get(h), h).toBeNull();
      // A read that fails anyway is an event too: refused the same way, as well-formed problem+json.
      const missing = await call(s, "GET", "/data/never-written.bin", s.token);
      expect(missing.status).toBe(503);
      expect(missing.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(missing.json.code).toBe("audit_unavailable");
    } finally {
      await stored.repairAppends();
      await stored.close();
    }
    expect((await call(s, "GET", "/data/2", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/data/x.bin", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/users/carol", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/data/1", s.token)).json.data).toBe("before");
    expect((await call(s, "GET", "/data/kept.bin", s.token)).text).toBe("kept bytes");
    expect(await (await fetch(link.json.url)).text()).toBe("kept bytes");
  });
});
