// The audit log against a real server process: events for what users and admins do (native API
// and S3), none carrying a secret; reading it back; fail-closed when it cannot be written; and
// `ssestore audit verify` offline, which names the first record a tampering broke.
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { call, createUser, issueToken } from "./api.js";
import { ROOT, type ServerProcess, startServer, tempDir } from "./harness.js";

const run = promisify(execFile);
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

/** `ssestore audit verify` on a stopped server's data dir: exit code and output. */
async function verify(dataDir: string, keyFile: string, checkpoints?: string) {
  const args = [
    "--import",
    "tsx",
    path.join(ROOT, "src/cli/main.ts"),
    "audit",
    "verify",
    "--data-dir",
    dataDir,
    "--public-key",
    keyFile,
  ];
  if (checkpoints) args.push("--checkpoints", checkpoints);
  try {
    const r = await run(process.execPath, args, { cwd: ROOT });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

// biome-ignore lint/suspicious/noExplicitAny: events are checked field by field
type Event = any;

async function adminEvents(s: ServerProcess, query = ""): Promise<Event[]> {
  const r = await call(s, "GET", `/admin/audit?limit=1000${query}`, s.token);
  expect(r.status, r.text).toBe(200);
  return r.json.events;
}

describe("the audit log", () => {
  it("records who did what, keeps every secret out, and serves a user's own view", async () => {
    const s = await start({ SSE_AUDIT_READS: "true" });
    const t = { url: s.url, token: s.token };
    await createUser(t, "alice");
    const alice = await issueToken(t, "alice");
    const secrets = [s.token, alice.token];
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
    expect((await call(s, "GET", "/me", "sse_not_a_real_token_at_all_0123456789abcdef")).status).toBe(401);

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
    expect(write.requestId).toBeTruthy();
    expect(write.client).toBe("127.0.0.1");
    const text = JSON.stringify(events) + readFileSync(path.join(s.dataDir, "objects.db")).toString("latin1");
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

  it("verifies offline after shutdown, and names the first record a tampering broke", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const dataDir = path.join(dir, "data");
    const exportFile = path.join(dir, "checkpoints.jsonl");
    const s = await start({ SSE_AUDIT_EXPORT: exportFile }, dataDir);
    const t = { url: s.url, token: s.token };
    await createUser(t, "bob");
    for (let i = 0; i < 5; i++)
      expect((await call(s, "POST", "/data", s.token, { data: `x${i}` })).status).toBe(200);
    const key = await call(s, "GET", "/admin/audit/public-key", s.token);
    expect(key.status).toBe(200);
    const keyFile = path.join(dir, "audit.pub");
    writeFileSync(keyFile, key.json.publicKey);
    expect(await s.stop()).toBe(0);
    servers.splice(0);

    const intact = await verify(dataDir, keyFile, exportFile);
    expect(intact.code, intact.out).toBe(0);
    expect(intact.out).toMatch(/intact/);
    const db = path.join(dataDir, "objects.db");
    const copy = readFileSync(db);
    const tamper = async (sql: string) => {
      writeFileSync(db, copy);
      const d = new Database(db);
      d.exec(sql);
      d.close();
      return verify(dataDir, keyFile, exportFile);
    };
    let r = await tamper(
      'UPDATE audit_events SET body = replace(body, \'"outcome":"ok"\', \'"outcome":"failed"\') WHERE seq = 4',
    );
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/at record 4\b/);
    r = await tamper("DELETE FROM audit_events WHERE seq = 6");
    expect(r.out).toMatch(/at record 6\b/);
    r = await tamper(
      "UPDATE audit_events SET seq = -seq WHERE seq IN (7, 8); UPDATE audit_events SET seq = 8 WHERE seq = -7; UPDATE audit_events SET seq = 7 WHERE seq = -8;",
    );
    expect(r.out).toMatch(/at record 7\b/);
    const last = (() => {
      const d = new Database(db, { readonly: true });
      const n = d.prepare("SELECT max(seq) FROM audit_events").pluck().get() as number;
      d.close();
      return n;
    })();
    r = await tamper(`DELETE FROM audit_events WHERE seq >= ${last - 2}`);
    expect(r.code).toBe(5);
    expect(r.out).toMatch(new RegExp(`at record ${last - 2}\\b`));
    const other = path.join(dir, "other.pub");
    writeFileSync(other, `ed25519:${Buffer.alloc(32, 1).toString("base64")}`);
    writeFileSync(db, copy);
    r = await verify(dataDir, other);
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/signature/);
  }, 60_000);

  it("with the log required, refuses an action whose event cannot be written, and changes nothing", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const dataDir = path.join(dir, "data");
    const s = await start({ SSE_AUDIT_REQUIRED: "true" }, dataDir);
    expect((await call(s, "POST", "/data", s.token, { id: 1, data: "before" })).status).toBe(200);
    const d = new Database(path.join(dataDir, "objects.db"), { timeout: 5000 });
    d.exec(
      "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(FAIL, 'audit store broken'); END",
    );
    d.close();
    const refused = await call(s, "POST", "/data", s.token, { id: 2, data: "after" });
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe("audit_unavailable");
    const put = await call(s, "PUT", "/data/x.bin", s.token, "bytes");
    expect(put.status).toBe(503);
    expect((await call(s, "POST", "/users", s.token, { name: "carol", role: "user" })).status).toBe(503);
    expect((await call(s, "GET", "/data/2", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/data/x.bin", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/users/carol", s.token)).status).toBe(404);
    expect((await call(s, "GET", "/data/1", s.token)).json.data).toBe("before");
  });
});
