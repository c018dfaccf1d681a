// A PostgreSQL outage under a running server: while the database is down, /ready answers 503 and
// every request a problem+json 503 storage_unavailable (the process stays up, an interrupted upload
// leaves nothing behind); when the database comes back, the server recovers by itself. The test has
// a PostgreSQL of its own, since it stops it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminQuery,
  createTestDatabase,
  type PostgresServer,
  startEmbeddedPostgres,
} from "../helpers/postgres.js";
import { expectProblem } from "../helpers/problem.js";
import { killHard } from "../helpers/process-control.js";
import { type RawResponse, rawRequest } from "../helpers/raw-http.js";
import { freePort, type ServerProcess, startServer } from "../helpers/server-process.js";
import { KiB, MiB, putObject, randomData, sha256 } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

let pgServer: PostgresServer;
let server: ServerProcess;
let dbUrl: string;

beforeAll(async () => {
  pgServer = await startEmbeddedPostgres();
  dbUrl = (await createTestDatabase(pgServer.adminUrl)).url;
  server = await startServer({ env: { SSE_DATABASE_URL: dbUrl } });
}, 120_000);

afterAll(async () => {
  if (server) {
    await killHard(server);
    server.cleanup();
  }
  await pgServer?.destroy();
}, 60_000);

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("PostgreSQL outage", () => {
  it("503 while the database is down, and recovery by itself when it returns", async () => {
    const data = randomData(MiB + 5);
    await putObject(server, "before", data);
    const item = (await (await server.fetch("/data", json({ data: "kept" }))).json()) as { id: number };

    // An upload in flight when the database goes: its body is held back until then.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    async function* slowBody() {
      yield randomData(2 * MiB);
      await held;
      for (let i = 0; i < 8; i++) yield randomData(256 * KiB);
    }
    // On a connection of its own: the server may close it after answering mid-body.
    const inFlight = rawRequest({
      port: server.port,
      method: "PUT",
      path: "/data/interrupted",
      token: server.token,
      body: slowBody(),
    }).then(
      (r) => r,
      (err: unknown) => err,
    );

    // Its first segments are stored before the database goes.
    await waitFor(
      "the upload's first segments",
      async () => (await adminQuery(dbUrl, "SELECT 1 FROM sse_objects.segments LIMIT 1")).length > 0,
    );
    await pgServer.stop();
    release();

    const ready = await fetch(`${server.url}/ready`);
    await expectProblem(ready, 503, "storage_unavailable");
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await expectProblem(await server.fetch("/data/before"), 503, "storage_unavailable");
    await expectProblem(await server.fetch("/data"), 503, "storage_unavailable");
    await expectProblem(await server.fetch("/data", json({ data: "lost" })), 503, "storage_unavailable");
    await expectProblem(
      await server.fetch("/data/during", { method: "PUT", body: randomData(10 * KiB) }),
      503,
      "storage_unavailable",
    );
    // The server answered 503 mid-body, or cut the connection: either way, not a 2xx.
    const cut = await inFlight;
    if (cut instanceof Error) expect(cut.message).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    else {
      const r = cut as RawResponse;
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body.toString()).code).toBe("storage_unavailable");
    }
    expect(server.proc.exitCode).toBeNull();

    await pgServer.start();
    await waitFor("/ready after recovery", async () => (await fetch(`${server.url}/ready`)).status === 200, {
      timeoutMs: 30_000,
    });

    const got = await server.fetch("/data/before");
    expect(got.status).toBe(200);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(data));
    expect(await (await server.fetch(`/data/${item.id}`)).json()).toEqual({ id: item.id, data: "kept" });
    // Nothing of what failed during the outage was stored.
    await expectProblem(await server.fetch("/data/interrupted"), 404, "not_found");
    await expectProblem(await server.fetch("/data/during"), 404, "not_found");
    // The interrupted upload's segments wait for the sweep (its writer could not drop them while
    // the database was down); they never became an object.
    expect(await (await server.fetch("/data")).json()).toEqual([item.id, "before"]);
    // And it takes writes again.
    const after = randomData(300 * KiB);
    expect((await putObject(server, "after", after)).status).toBe(201);
    const next = (await (await server.fetch("/data", json({ data: "new" }))).json()) as { id: number };
    expect(next.id).toBe(item.id + 1);
    expect(server.output()).not.toMatch(/password|postgres:\/\//);
  }, 120_000);
});

describe("PostgreSQL unreachable at start", () => {
  it("the process exits 1 with one clear line, without the URL's password", async () => {
    // A port nothing listens on.
    const url = `postgres://sse:a-secret-password@127.0.0.1:${await freePort()}/sse`;
    const s = await startServer({ env: { SSE_DATABASE_URL: url }, waitReady: false });
    try {
      const code = await new Promise<number | null>((resolve) => {
        if (s.proc.exitCode !== null) resolve(s.proc.exitCode);
        else s.proc.once("exit", (c) => resolve(c));
      });
      expect(code).toBe(1);
      expect(s.output()).toMatch(/cannot start: the storage backend is unavailable/);
      expect(s.output()).toMatch(/ECONNREFUSED/);
      expect(s.output()).not.toContain(new URL(url).password);
    } finally {
      await s.kill();
      s.cleanup();
    }
  }, 60_000);
});
