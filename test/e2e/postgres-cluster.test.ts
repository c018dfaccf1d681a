// Two real server processes on one PostgreSQL database, as behind a load balancer: what one writes
// the other reads at once, concurrent item POSTs on both get unique ids, and kill -9 of one while it
// writes loses nothing the other cannot serve. Both share one root key (the file provider's
// root.key in a shared data dir), as every process of a deployment must.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_TTL_MS } from "../../src/auth/credential-cache.js";
import { survivalProblems, uploadUntilKilled } from "../helpers/kill-workload.js";
import { listAll } from "../helpers/listing.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { expectProblem } from "../helpers/problem.js";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { getBytes, KiB, MiB, putObject, randomData, sha256 } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

let db: TestDatabase;
let sharedDir: string;
let a: ServerProcess;
let b: ServerProcess;
const extra: ServerProcess[] = [];

function startOnDb(): Promise<ServerProcess> {
  return startServer({ dataDir: sharedDir, env: { SSE_DATABASE_URL: db.url } });
}

beforeAll(async () => {
  db = await createTestDatabase();
  sharedDir = tempDir("sse-e2e-pg-");
  // Started together on an empty database: migrations and the admin's bootstrap race.
  [a, b] = await Promise.all([startOnDb(), startOnDb()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, ...extra].filter(Boolean).map((s) => killHard(s)));
  await db?.drop();
  rmSync(sharedDir, { recursive: true, force: true });
}, 60_000);

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("two server processes on one PostgreSQL", () => {
  it("both started on an empty database: one admin, one migration, both ready", async () => {
    for (const s of [a, b]) {
      const ready = await fetch(`${s.url}/ready`);
      expect(ready.status).toBe(200);
      expect((await s.fetch("/me")).status).toBe(200);
    }
    const users = (await (await b.fetch("/users")).json()) as { name: string }[];
    expect(users.map((u) => u.name)).toEqual(["admin"]);
    const logs = a.output() + b.output();
    expect(logs).toMatch(/"store":"postgres"/);
    expect(logs).not.toContain(db.url);
  });

  it("an object written through one is read through the other at once", async () => {
    const data = randomData(3 * MiB + 17);
    const put = await putObject(a, "shared/doc.bin", data, { "content-type": "application/x-test" });
    expect(put.status).toBe(201);
    const { res, bytes } = await getBytes(b, "shared/doc.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(put.body.etag);
    expect(res.headers.get("content-type")).toBe("application/x-test");
    expect(sha256(bytes)).toBe(sha256(data));

    const ranged = await b.fetch("/data/shared/doc.bin", { headers: { range: "bytes=1048570-1048580" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1048570, 1048581))).toBe(true);

    // Replaced on B, read on A; deleted on A, gone on B.
    const next = randomData(100 * KiB);
    expect((await putObject(b, "shared/doc.bin", next)).status).toBe(200);
    expect(sha256((await getBytes(a, "shared/doc.bin")).bytes)).toBe(sha256(next));
    expect((await a.fetch("/data/shared/doc.bin", { method: "DELETE" })).status).toBe(204);
    await expectProblem(await b.fetch("/data/shared/doc.bin"), 404, "not_found");

    const item = await a.fetch("/data", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: "hello from a" }),
    });
    expect(item.status).toBe(200);
    const { id } = (await item.json()) as { id: number };
    expect(await (await b.fetch(`/data/${id}`)).json()).toEqual({ id, data: "hello from a" });
    expect(await listAll(b)).toContain(id);
  });

  it("a user and token made on one work on the other; revoked on one, refused there at once and on the other within a second", async () => {
    const created = await a.fetch("/users", json({ name: "carol", role: "user" }));
    expect(created.status).toBe(201);
    const issued = await a.fetch("/users/carol/tokens", json({ label: "laptop" }));
    expect(issued.status).toBe(201);
    const { id, token } = (await issued.json()) as { id: string; token: string };
    const as = (s: ServerProcess, p: string, init: RequestInit = {}) =>
      s.fetch(p, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });

    expect(((await (await as(b, "/me")).json()) as { name: string }).name).toBe("carol");
    // Her key was made by A, in the shared keys schema: B encrypts and A decrypts with it.
    expect((await as(b, "/data/note", { method: "PUT", body: "carol's note" })).status).toBe(201);
    expect(await (await as(a, "/data/note")).text()).toBe("carol's note");

    // B has just used the token: it is in B's one-second credential cache.
    expect((await as(b, "/me")).status).toBe(200);
    expect((await a.fetch(`/users/carol/tokens/${id}`, { method: "DELETE" })).status).toBe(204);
    const revokedAt = Date.now();
    await expectProblem(await as(a, "/data/note"), 401, "unauthorized");
    await waitFor("B to refuse the revoked token", async () => (await as(b, "/me")).status === 401, {
      timeoutMs: 3000,
    });
    expect(Date.now() - revokedAt).toBeLessThan(CREDENTIAL_TTL_MS + 500);
    await expectProblem(await as(b, "/data/note"), 401, "unauthorized");
  });

  it("concurrent item POSTs on both processes get unique ids, every one readable on both", async () => {
    const perServer = 30;
    const post = (s: ServerProcess, n: number) =>
      s
        .fetch("/data", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ data: `item ${n}` }),
        })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as { id: number; data: string } }));
    const answers = await Promise.all(
      Array.from({ length: perServer * 2 }, (_, n) => post(n % 2 === 0 ? a : b, n)),
    );
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 200));
    const ids = answers.map((x) => x.body.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [n, x] of answers.entries()) {
      const other = n % 2 === 0 ? b : a;
      expect(await (await other.fetch(`/data/${x.body.id}`)).json()).toEqual({
        id: x.body.id,
        data: `item ${n}`,
      });
    }
  });

  it("kill -9 of one while it writes: the other serves every acknowledged object", async () => {
    const victim = await startOnDb();
    extra.push(victim);
    const { versions, clientErrors } = await uploadUntilKilled(victim, {
      clients: 6,
      minAcked: 30,
      minBytes: 128 * KiB,
      spanBytes: 3 * MiB,
    });
    expect(clientErrors).toEqual([]);
    expect([...versions.values()].flat().filter((v) => !v.acked).length).toBeGreaterThanOrEqual(1);

    const { problems } = await survivalProblems(b, versions);
    expect(problems).toEqual([]);
    const listed = (await listAll(b)).map(String).filter((id) => id.startsWith("kill/"));
    for (const id of listed) expect(versions.has(id), id).toBe(true);
  }, 180_000);
});
