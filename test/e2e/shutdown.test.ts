// Graceful shutdown of a real server process: SIGTERM lets in-flight uploads finish, refuses new
// connections, closes the stores and exits 0; the deadline and a second signal cut what is left.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SIGNAL_QUIET_PERIOD_MS } from "../../src/second-signal.js";
import { until } from "../helpers/api-client.js";
import { createTestDatabase } from "../helpers/postgres.js";
import { uploadInFlight } from "../helpers/process-control.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

const open: ServerProcess[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.kill();
    s.cleanup();
  }
});

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await startServer({ env });
  open.push(s);
  return s;
}

interface SlowUpload {
  req: http.ClientRequest;
  response: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
}

/** Starts a chunked PUT that sends one chunk now and the rest when the test says so. */
function slowUpload(server: ServerProcess, id: string, first: Buffer, agent?: http.Agent): SlowUpload {
  const req = http.request(`${server.url}/data/${id}`, {
    method: "PUT",
    agent,
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/octet-stream" },
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      });
      req.on("error", reject);
    },
  );
  req.write(first);
  return { req, response };
}

/** True once the port no longer accepts connections. */
async function refused(server: ServerProcess): Promise<boolean> {
  try {
    await fetch(`${server.url}/health`);
    return false;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
  }
}

function exited(server: ServerProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (server.proc.exitCode !== null) resolve(server.proc.exitCode);
    else server.proc.once("exit", (code) => resolve(code));
  });
}

function leftovers(dataDir: string): { uploads: number; segments: number; objects: number } {
  const db = new Database(path.join(dataDir, "objects.db"), { readonly: true });
  try {
    const n = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      uploads: n("SELECT count(*) FROM uploads"),
      segments: n("SELECT count(*) FROM segments WHERE write_id NOT IN (SELECT write_id FROM objects)"),
      objects: n("SELECT count(*) FROM objects"),
    };
  } finally {
    db.close();
  }
}

describe("SIGTERM", () => {
  it("lets an in-flight upload finish with 201, refuses new connections, then exits 0", async () => {
    const server = await start();
    const parts = [randomBytes(100_000), randomBytes(100_000), randomBytes(100_000)];
    const upload = slowUpload(server, "during-shutdown", parts[0]!);
    await uploadInFlight(server);
    const exit = exited(server);
    server.proc.kill("SIGTERM");
    await until(() => refused(server), "new connections to be refused");
    expect(server.proc.exitCode).toBeNull();
    upload.req.write(parts[1]!);
    upload.req.end(parts[2]!);
    const res = await upload.response;
    expect(res.status).toBe(201);
    expect(res.headers.connection).toBe("close");
    expect(JSON.parse(res.body)).toMatchObject({ id: "during-shutdown", size: 300_000 });
    expect(await exit).toBe(0);
    expect(server.output()).toContain("SSE Store stopped");

    // The object is durable: a new process on the same data serves it whole.
    const again = await startServer({ dataDir: server.dataDir });
    open.push(again);
    const got = Buffer.from(await (await again.fetch("/data/during-shutdown")).arrayBuffer());
    expect(got.equals(Buffer.concat(parts))).toBe(true);
  });

  it("does not wait for idle kept-alive connections", async () => {
    const server = await start();
    const agent = new http.Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) =>
        http
          .get(`${server.url}/health`, { agent }, (res) => {
            res.resume();
            res.on("end", resolve);
          })
          .on("error", reject),
      );
      expect(Object.keys(agent.freeSockets)).toHaveLength(1);
      const started = Date.now();
      expect(await server.stop()).toBe(0);
      // The keep-alive timeout is 65 s: an idle socket holding the server open would show here.
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      agent.destroy();
    }
  });

  it("does not wait for a connection that never sent a request (a client's spare connection)", async () => {
    const server = await start({ SSE_SHUTDOWN_TIMEOUT: "20" });
    const spare = net.connect(server.port, "127.0.0.1");
    spare.on("error", () => undefined);
    await once(spare, "connect");
    // And one that has sent half of its request line.
    const half = net.connect(server.port, "127.0.0.1");
    half.on("error", () => undefined);
    await once(half, "connect");
    half.write("GET /heal");
    try {
      await until(async () => (await fetch(`${server.url}/health`)).status === 200, "the server to answer");
      const started = Date.now();
      expect(await server.stop()).toBe(0);
      // Node counts such a connection as busy: without the sweep, shutdown waited for the deadline.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      spare.destroy();
      half.destroy();
    }
  }, 40_000);

  it("lets a download whose headers already left finish, then closes its kept-alive connection", async () => {
    const server = await start();
    const body = randomBytes(4 * 1024 * 1024);
    expect((await server.fetch("/data/big", { method: "PUT", body })).status).toBe(201);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http
          .get(
            `${server.url}/data/big`,
            { agent, headers: { authorization: `Bearer ${server.token}` } },
            resolve,
          )
          .on("error", reject),
      );
      // Headers are in, the body is held back by not reading it.
      res.pause();
      expect(res.headers.connection).toBe("keep-alive");
      const exit = exited(server);
      server.proc.kill("SIGTERM");
      await until(() => refused(server), "new connections to be refused");
      const started = Date.now();
      const parts: Buffer[] = [];
      for await (const chunk of res) parts.push(chunk as Buffer);
      expect(Buffer.concat(parts).equals(body)).toBe(true);
      expect(await exit).toBe(0);
      // The keep-alive timeout is 65 s: the idle connection must be closed, not waited out.
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      agent.destroy();
    }
  });

  it("cuts what is still open at SSE_SHUTDOWN_TIMEOUT, leaves no partial upload, and exits 1", async () => {
    const server = await start({ SSE_SHUTDOWN_TIMEOUT: "1" });
    const upload = slowUpload(server, "cut-by-deadline", randomBytes(200_000));
    await uploadInFlight(server);
    const exit = exited(server);
    server.proc.kill("SIGTERM");
    await expect(upload.response).rejects.toThrow();
    expect(await exit).toBe(1);
    expect(server.output()).toMatch(/"level":50,[^\n]*shutdown deadline passed/);
    expect(leftovers(server.dataDir)).toEqual({ uploads: 0, segments: 0, objects: 0 });
  });

  it("takes a repeated signal within the quiet period for a relayed copy: the upload still finishes", async () => {
    const server = await start({ SSE_SHUTDOWN_TIMEOUT: "120" });
    const parts = [randomBytes(100_000), randomBytes(100_000)];
    const upload = slowUpload(server, "copy-of-the-signal", parts[0]!);
    await uploadInFlight(server);
    const exit = exited(server);
    server.proc.kill("SIGTERM");
    await until(() => refused(server), "new connections to be refused");
    // What npm or tsx does when the whole process group was signalled: the same signal once more.
    server.proc.kill("SIGTERM");
    await until(async () => server.output().includes("taken for a copy"), "the copy to be logged");
    upload.req.end(parts[1]!);
    expect((await upload.response).status).toBe(201);
    expect(await exit).toBe(0);
    expect(server.output()).not.toContain("second signal");
  });

  it("cuts in-flight requests at once on a second signal", async () => {
    const server = await start({ SSE_SHUTDOWN_TIMEOUT: "120" });
    const upload = slowUpload(server, "cut-by-second-signal", randomBytes(200_000));
    await uploadInFlight(server);
    const exit = exited(server);
    server.proc.kill("SIGTERM");
    await until(() => refused(server), "new connections to be refused");
    // An operator's second signal comes after the quiet period; one within it is a relayed copy.
    await delay(SIGNAL_QUIET_PERIOD_MS + 500);
    server.proc.kill("SIGINT");
    await expect(upload.response).rejects.toThrow();
    expect(await exit).toBe(1);
    expect(server.output()).toContain("second signal");
    expect(leftovers(server.dataDir)).toEqual({ uploads: 0, segments: 0, objects: 0 });
  });
});

describe("SIGTERM on PostgreSQL", () => {
  it("lets an in-flight upload finish, closes the pool and exits 0; a cut upload leaves no object", async () => {
    const db = await createTestDatabase();
    try {
      const server = await start({ SSE_DATABASE_URL: db.url });
      const parts = [randomBytes(100_000), randomBytes(100_000)];
      const upload = slowUpload(server, "pg-during-shutdown", parts[0]!);
      await uploadInFlight(server);
      const exit = exited(server);
      server.proc.kill("SIGTERM");
      await until(() => refused(server), "new connections to be refused");
      upload.req.end(parts[1]!);
      expect((await upload.response).status).toBe(201);
      expect(await exit).toBe(0);
      expect(server.output()).toContain("SSE Store stopped");

      // The same data dir: it holds the file provider's root key, which every process needs.
      const again = await startServer({
        dataDir: server.dataDir,
        env: { SSE_DATABASE_URL: db.url, SSE_SHUTDOWN_TIMEOUT: "1" },
      });
      open.push(again);
      const got = Buffer.from(await (await again.fetch("/data/pg-during-shutdown")).arrayBuffer());
      expect(got.equals(Buffer.concat(parts))).toBe(true);
      const cut = slowUpload(again, "pg-cut", randomBytes(200_000));
      await uploadInFlight(again);
      const exitAgain = exited(again);
      again.proc.kill("SIGTERM");
      await expect(cut.response).rejects.toThrow();
      expect(await exitAgain).toBe(1);

      const third = await startServer({ dataDir: server.dataDir, env: { SSE_DATABASE_URL: db.url } });
      open.push(third);
      expect((await third.fetch("/data/pg-cut")).status).toBe(404);
      expect((await third.fetch("/data/pg-during-shutdown")).status).toBe(200);
    } finally {
      for (const s of open.splice(0)) {
        await s.kill();
        s.cleanup();
      }
      await db.drop();
    }
  });
});
