// SSE_WORKERS=2, on SQLite and on PostgreSQL: one primary and two workers sharing the port. Requests
// spread over both; what one worker changes (a revoked token, a deleted admin) holds on the other;
// a job runs once; kill -9 of a worker is repaired by the primary while the other serves on; a
// SIGTERM to the process group (as a terminal or systemd sends it) stops everything cleanly.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_TTL_MS } from "../../src/auth/credential-cache.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { randomData, sha256 } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

interface LogLine {
  msg?: string;
  reqId?: string;
  pid?: number;
  worker?: number;
  req?: { path?: string };
  res?: { statusCode?: number };
}

function logLines(s: ServerProcess): LogLine[] {
  return s
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The pid of each worker serving now, by worker id (from their log lines). */
function workerPids(s: ServerProcess): Map<number, number> {
  const pids = new Map<number, number>();
  for (const l of logLines(s)) if (l.worker !== undefined && l.pid !== undefined) pids.set(l.worker, l.pid);
  return pids;
}

const json = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

/** One request on a connection of its own (the primary hands connections round-robin); its status. */
function ownConnection(url: string, token: string, method = "GET"): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent: false,
      headers: { authorization: `Bearer ${token}`, connection: "close" },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `n` requests at once, each on a connection of its own. */
async function burst(s: ServerProcess, p: string, token: string, n = 8): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, () => ownConnection(`${s.url}${p}`, token)));
}

async function issueToken(
  s: ServerProcess,
  user: string,
  asToken: string,
): Promise<{ token: string; id: string }> {
  const res = await s.fetch(`/users/${user}/tokens`, {
    ...json("POST", {}),
    headers: { "content-type": "application/json", authorization: `Bearer ${asToken}` },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; id: string };
}

describe.each(["sqlite", "postgres"] as const)("SSE_WORKERS=2 on %s", (store) => {
  let db: TestDatabase | undefined;
  let server: ServerProcess;
  /** The admin's token: the bootstrap one until the race below deletes that admin. */
  let adminToken: string;
  const api = (p: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${adminToken}`);
    return fetch(server.url + p, { ...init, headers });
  };

  beforeAll(async () => {
    if (store === "postgres") db = await createTestDatabase();
    server = await startServer({
      // A process group of its own: a signal to the group reaches the primary and its workers.
      detached: true,
      env: { SSE_WORKERS: "2", ...(db ? { SSE_DATABASE_URL: db.url } : {}) },
    });
    adminToken = server.token;
    await waitFor("both workers to listen", () => server.output().includes("SSE Store listening"), {
      timeoutMs: 60_000,
    });
  }, 90_000);

  afterAll(async () => {
    if (server) await killHard(server);
    server?.cleanup();
    await db?.drop();
  }, 60_000);

  it("announces itself once and spreads requests over both workers", async () => {
    expect(logLines(server).filter((l) => l.msg === "SSE Store listening")).toHaveLength(1);
    expect((await burst(server, "/me", server.token, 12)).every((c) => c === 200)).toBe(true);
    // A request's log line is written after its answer, and reaches us through the primary: wait
    // for the twelve lines, not for the answers alone.
    const meLines = () => logLines(server).filter((l) => l.req?.path === "/me" && l.res?.statusCode === 200);
    await waitFor("the twelve request lines", () => meLines().length >= 12);
    const served = new Set(meLines().map((l) => l.worker));
    expect(served).toEqual(new Set([1, 2]));
    // /metrics adds up both workers' registries.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^sse_workers 2$/m);
    expect(metrics).toMatch(/^sse_build_info\{version="[^"]+"\} 1$/m);
  });

  it("a token revoked through one worker is refused by every worker within a second", async () => {
    const { token, id } = await issueToken(server, "admin", adminToken);
    expect((await burst(server, "/me", token)).every((c) => c === 200)).toBe(true);
    const revoked = await api(`/users/admin/tokens/${id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    const at = Date.now();
    await waitFor(
      "the revoked token refused everywhere",
      // Refused: 401, or 429 once the failures reach a worker's share of the limit.
      async () => (await burst(server, "/me", token)).every((c) => c === 401 || c === 429),
      { timeoutMs: CREDENTIAL_TTL_MS + 500 },
    );
    expect(Date.now() - at).toBeLessThan(CREDENTIAL_TTL_MS + 500);
  });

  it("two admins deleting each other through both workers at once leave exactly one admin", async () => {
    let survivor = { name: "admin", token: server.token };
    for (let round = 0; round < 4; round++) {
      const other = `boss${round}`;
      const created = await server.fetch("/users", {
        ...json("POST", { name: other, role: "admin" }),
        headers: { "content-type": "application/json", authorization: `Bearer ${survivor.token}` },
      });
      expect(created.status).toBe(201);
      const otherToken = (await issueToken(server, other, survivor.token)).token;
      const del = (name: string, token: string) =>
        ownConnection(`${server.url}/users/${name}`, token, "DELETE");
      const [a, b] = await Promise.all([del(other, survivor.token), del(survivor.name, otherToken)]);
      // One deletion wins; the other is refused (the last admin stays, or its token died with it).
      expect([a, b].filter((c) => c === 204)).toHaveLength(1);
      survivor = a === 204 ? survivor : { name: other, token: otherToken };
      const users = (await (
        await server.fetch("/users", { headers: { authorization: `Bearer ${survivor.token}` } })
      ).json()) as { name: string; role: string }[];
      expect(users.filter((u) => u.role === "admin").map((u) => u.name)).toEqual([survivor.name]);
    }
    adminToken = survivor.token;
  });

  it("a job runs exactly once", async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const finished = (text: string) =>
      Number(/^sse_jobs_finished_total\{kind="verify",state="done"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const started = await api("/admin/verify", json("POST", {}));
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };
    await waitFor("the job to finish", async () => {
      const j = (await (await api(`/jobs/${jobId}`)).json()) as { state: string };
      return j.state === "done";
    });
    const after = await (await fetch(`${server.url}/metrics`)).text();
    expect(finished(after) - finished(before)).toBe(1);
  });

  it("kill -9 of one worker: the other serves on, mid-request, and the primary starts another", async () => {
    // One kept-alive connection: every request on it goes to the same worker.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = (method: string, p: string, body?: Buffer, slow = false) =>
      new Promise<{ status: number; body: Buffer; requestId: string }>((resolve, reject) => {
        const req = http.request(`${server.url}${p}`, {
          method,
          agent,
          headers: {
            authorization: `Bearer ${adminToken}`,
            ...(body ? { "content-type": "application/octet-stream", "content-length": body.length } : {}),
          },
        });
        req.on("response", (res) => {
          const parts: Buffer[] = [];
          res.on("data", (d: Buffer) => parts.push(d));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(parts),
              requestId: String(res.headers["x-request-id"]),
            }),
          );
        });
        req.on("error", reject);
        if (!body) return void req.end();
        if (!slow) return void req.end(body);
        // Half now, the rest once the test says so: the request is in flight meanwhile.
        req.write(body.subarray(0, body.length / 2));
        finishSlow = () => req.end(body.subarray(body.length / 2));
      });
    let finishSlow: () => void = () => undefined;
    const probe = await request("GET", "/me");
    expect(probe.status).toBe(200);
    const mine = await waitFor(
      "the probe's log line",
      () => logLines(server).find((l) => l.reqId === probe.requestId && l.worker !== undefined)?.worker,
    );
    expect(mine).toBeDefined();
    const pids = workerPids(server);
    const victim = [...pids.keys()].find((w) => w !== mine)!;

    const data = randomData(2 * 1024 * 1024);
    const upload = request("PUT", "/data/workers/in-flight.bin", data, true);
    // Acknowledged writes through both workers before the kill.
    const acked: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await api(`/data/workers/acked-${i}`, {
        method: "PUT",
        headers: { "content-type": "text/plain" },
        body: `item ${i}`,
      });
      expect(res.status).toBe(201);
      acked.push(`workers/acked-${i}`);
    }
    process.kill(pids.get(victim)!, "SIGKILL");
    await waitFor("the primary to notice", () => server.output().includes("a worker died"));
    finishSlow();
    const done = await upload;
    expect(done.status).toBe(201);
    const back = await request("GET", "/data/workers/in-flight.bin");
    expect(back.status).toBe(200);
    expect(sha256(back.body)).toBe(sha256(data));
    agent.destroy();

    // A replacement starts, and the server is two workers again.
    await waitFor(
      "a new worker",
      async () =>
        /^sse_workers 2$/m.test(await (await fetch(`${server.url}/metrics`)).text()) &&
        workerPids(server).size === 3,
      { timeoutMs: 60_000 },
    );
    for (const id of acked) {
      const res = await api(`/data/${id}`);
      expect(res.status).toBe(200);
    }
    expect((await burst(server, "/me", adminToken, 8)).every((c) => c === 200)).toBe(true);
  }, 120_000);

  it("SIGTERM to the process group: every worker drains once, exit 0", async () => {
    const code = await server.stop();
    expect(code).toBe(0);
    const lines = logLines(server);
    expect(lines.filter((l) => l.msg === "shutting down: finishing in-flight requests")).toHaveLength(1);
    expect(lines.filter((l) => l.msg === "SSE Store stopped")).toHaveLength(2);
    expect(lines.some((l) => l.msg === "every worker stopped")).toBe(true);
  }, 60_000);
});

describe("SSE_WORKERS=2: a signal while the server starts", () => {
  /** Whether any process of the group is alive (signal 0 to the group). */
  const groupAlive = (pgid: number) => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("SIGTERM to the group before the workers listen: no crash, exit 0, no worker left behind", async () => {
    for (let round = 0; round < 3; round++) {
      const s = await startServer({ detached: true, waitReady: false, env: { SSE_WORKERS: "2" } });
      try {
        // As soon as the primary is up, at a different moment of the workers' start each round.
        await waitFor("the first log line", () => s.output().includes("{"), { timeoutMs: 30_000 });
        await new Promise((r) => setTimeout(r, round * 150));
        const exited = new Promise<number | null>((resolve) => s.proc.once("exit", (code) => resolve(code)));
        s.signal("SIGTERM");
        expect(await exited, s.output()).toBe(0);
        await waitFor("every process of the group gone", () => !groupAlive(s.proc.pid!), {
          timeoutMs: 15_000,
        });
        const lines = logLines(s);
        expect(
          lines.filter((l) => /uncaught|unhandled/.test(l.msg ?? "")),
          s.output(),
        ).toEqual([]);
      } finally {
        if (groupAlive(s.proc.pid!)) process.kill(-s.proc.pid!, "SIGKILL");
        s.cleanup();
      }
    }
  }, 120_000);
});
