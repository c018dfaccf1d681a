// No token in the clear anywhere: every file of SSE_DATA_DIR (databases, WAL, key file) and the
// whole log, at the most verbose level, searched for every token the test created or presented.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, issueToken } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { unknownToken } from "../helpers/tokens.js";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** The forms a secret could be stored or logged in: whole, its secret part, its bytes, hex, base64. */
function needles(token: string): Buffer[] {
  const out = [Buffer.from(token)];
  const m = /^sse_[0-9a-f]{16}_([A-Za-z0-9_-]{43})$/.exec(token);
  if (m) {
    const raw = Buffer.from(m[1]!, "base64url");
    out.push(Buffer.from(m[1]!), raw, Buffer.from(raw.toString("hex")), Buffer.from(raw.toString("base64")));
  }
  return out;
}

function findSecrets(haystacks: Array<[string, Buffer]>, secrets: string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets)
    for (const needle of needles(secret))
      for (const [where, hay] of haystacks)
        if (hay.includes(needle))
          found.push(`${where} holds ${secret.slice(0, 12)}… (${needle.length} bytes)`);
  return found;
}

describe("secrets at rest and in the log", () => {
  let server: ServerProcess;
  const bootstrap = `sse_bootstrap_${randomBytes(32).toString("base64url")}`;
  const created: string[] = [];
  const presented: string[] = [];

  beforeAll(async () => {
    server = await startServer({ token: bootstrap, env: { SSE_LOG_LEVEL: "trace" } });
    await createUser(server, "alice");
    await createUser(server, "bob", "admin");
    for (const opts of [{}, { scopes: ["read"] }, { label: "ci", expiresInSeconds: 3600 }])
      created.push((await issueToken(server, "alice", opts)).token);
    created.push((await issueToken(server, "bob")).token);
    // Self-issued, then used, then revoked.
    const self = await issueToken(server, "alice", { label: "self" }, created[0]!);
    created.push(self.token);
    for (const t of [...created, bootstrap]) {
      expect((await call(server, "GET", "/me", t)).status).toBe(200);
      await call(server, "PUT", "/data/doc", t, "body");
      await call(server, "GET", "/data/doc", t);
      await call(server, "DELETE", "/users/alice/tokens/0000000000000000", t);
    }
    expect((await call(server, "DELETE", `/users/alice/tokens/${self.id}`, server.token)).status).toBe(204);
    expect((await call(server, "GET", "/me", self.token)).status).toBe(401);
    // Refused tokens and tokens in odd places must not reach the log either.
    for (let i = 0; i < 3; i++) presented.push(unknownToken());
    presented.push(`${created[0]!.slice(0, -4)}AAAA`);
    for (const t of presented) {
      await call(server, "GET", "/me", t);
      await call(server, "GET", `/data?after=${encodeURIComponent(t)}`, t);
      await call(server, "GET", "/me", null, undefined, { authorization: `Basic ${t}` });
      await call(server, "GET", `/data/x?token=${t}`, null);
    }
  });

  afterAll(() => {
    server?.cleanup();
  });

  it("keeps no token in any file of SSE_DATA_DIR while running", () => {
    const files = filesUnder(server.dataDir).map(
      (f) => [path.relative(server.dataDir, f), readFileSync(f)] as [string, Buffer],
    );
    expect(files.map(([f]) => f)).toEqual(expect.arrayContaining(["objects.db", "keys.db"]));
    expect(findSecrets(files, [bootstrap, ...created, ...presented])).toEqual([]);
  });

  it("keeps no token in the data dir after shutdown, nor in the log", async () => {
    expect(await server.stop()).toBe(0);
    const files = filesUnder(server.dataDir).map(
      (f) => [path.relative(server.dataDir, f), readFileSync(f)] as [string, Buffer],
    );
    expect(findSecrets(files, [bootstrap, ...created, ...presented])).toEqual([]);
    const log = Buffer.from(server.output());
    // The log did record the traffic, so the search means something.
    expect(log.toString()).toContain('"msg":"token issued"');
    expect(log.toString()).toContain('"statusCode":401');
    expect(findSecrets([["log", log]], [bootstrap, ...created, ...presented])).toEqual([]);
  });

  it("without SSE_BOOTSTRAP_TOKEN, keeps the admin token only in the 0600 bootstrap-token file", async () => {
    const s = await startServer({ env: { SSE_BOOTSTRAP_TOKEN: undefined, SSE_LOG_LEVEL: "trace" } });
    try {
      const file = path.join(s.dataDir, "bootstrap-token");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, "utf8").trim();
      expect((await call(s, "GET", "/me", token)).json).toMatchObject({ name: "admin", role: "admin" });
      // The log is written asynchronously: wait for the line that names the file.
      const deadline = Date.now() + 10_000;
      while (!s.output().includes(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(s.output()).toContain(file);
      expect(await s.stop()).toBe(0);
      const others = filesUnder(s.dataDir)
        .filter((f) => f !== file)
        .map((f) => [f, readFileSync(f)] as [string, Buffer]);
      expect(findSecrets([...others, ["log", Buffer.from(s.output())]], [token])).toEqual([]);
    } finally {
      await s.kill();
      s.cleanup();
    }
  });
});
