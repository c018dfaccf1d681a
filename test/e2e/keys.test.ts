// Key management against a real server process: rotation keeps every old object readable (ranges
// included) across restarts and a root rotation; a rewrap killed with SIGKILL midway resumes after
// the restart and loses nothing; verify finds damage made on disk while the server was down.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { populate } from "../helpers/app.js";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await startServer({ dataDir, env: { SSE_LOG_LEVEL: "warn", ...env }, token: ADMIN_TOKEN });
  servers.push(s);
  return s;
}

function as(s: ServerProcess, token: string) {
  return (p: string, init: RequestInit = {}) =>
    s.fetch(p, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
}

async function json(res: Promise<Response>, status = 200) {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return JSON.parse(text);
}

const post = (body?: unknown): RequestInit => ({
  method: "POST",
  ...(body === undefined
    ? {}
    : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
});

/** `ssestore verify --wait …` (the real CLI) against `s` with `token`: exit code and output. */
function ssestoreVerify(s: ServerProcess, token: string, ...args: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SSE_")) env[k] = v;
  Object.assign(env, {
    SSE_URL: s.url,
    SSE_TOKEN: token,
    SSE_CONFIG: path.join(s.dataDir, "no-cli-config.json"),
  });
  const proc = spawn(process.execPath, [path.join(ROOT, "bin/ssestore.js"), "verify", "--wait", ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  proc.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code) => resolve({ code, out, err }));
  });
}

/** Polls GET /jobs/{id} until the job leaves "running". */
async function finished(s: ServerProcess, jobId: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await json(s.fetch(`/jobs/${jobId}`));
    if (job.state !== "running") return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("rotation keeps every old object readable", () => {
  it("through user-key rotations, a root rotation and restarts, ranges included", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let s = await start(dir);
    const api = () => as(s, ADMIN_TOKEN);
    const objects = new Map<string, Buffer>();
    const putObject = async (id: string, body: Buffer) => {
      const info = await json(
        api()(`/data/${id}`, {
          method: "PUT",
          body: new Uint8Array(body),
          headers: { "content-type": "x/y" },
        }),
        201,
      );
      objects.set(id, body);
      return info.keyVersion as number;
    };
    expect(await putObject("v1/big", randomBytes(300_000))).toBe(1);
    expect(await putObject("v1/small", Buffer.from("tiny"))).toBe(1);
    const item = await json(api()("/data", post({ data: "an item under version 1" })));

    expect((await json(api()("/keys/rotate", post()))).primaryVersion).toBe(2);
    expect(await putObject("v2/big", randomBytes(200_001))).toBe(2);
    const root = await json(api()("/admin/root-key/rotate", post()), 202);
    expect(await finished(s, root.jobId)).toMatchObject({
      state: "done",
      result: { rootVersion: 2, retired: [1] },
    });
    expect((await json(api()("/keys/rotate", post()))).primaryVersion).toBe(3);
    expect(await putObject("v3/big", randomBytes(140_000))).toBe(3);

    const checkAll = async () => {
      for (const [id, body] of objects) {
        const whole = await api()(`/data/${id}`);
        expect(whole.status).toBe(200);
        expect(Buffer.from(await whole.arrayBuffer()).equals(body), id).toBe(true);
        const n = body.length;
        const ranges: [string, number, number][] = [
          ["bytes=0-0", 0, 0],
          [`bytes=${Math.max(0, n - 5)}-`, Math.max(0, n - 5), n - 1],
          ["bytes=-3", n - 3, n - 1],
        ];
        if (n > 131_100) ranges.push(["bytes=65530-131080", 65530, 131080]);
        for (const [header, a, b] of ranges) {
          const r = await api()(`/data/${id}`, { headers: { range: header } });
          expect(r.status, `${id} ${header}`).toBe(206);
          expect(r.headers.get("content-range")).toBe(`bytes ${a}-${b}/${n}`);
          expect(Buffer.from(await r.arrayBuffer()).equals(body.subarray(a, b + 1)), `${id} ${header}`).toBe(
            true,
          );
        }
      }
      expect(await json(api()(`/data/${item.id}`))).toEqual({ id: item.id, data: "an item under version 1" });
    };
    await checkAll();

    expect(await s.stop()).toBe(0);
    s = await start(dir);
    await checkAll();
    const keys = await json(api()("/keys"));
    expect(keys.versions.map((v: { version: number; objects: number }) => [v.version, v.objects])).toEqual([
      [1, 3],
      [2, 1],
      [3, 1],
    ]);

    // Rewrap, then retire versions 1 and 2: still all readable, also after another restart.
    expect(await finished(s, (await json(api()("/keys/rewrap", post()), 202)).jobId)).toMatchObject({
      state: "done",
      done: 5,
    });
    expect((await json(api()("/keys/min-decryption-version", post({ version: 3 })))).versions).toEqual([
      { version: 3, created: expect.any(String), objects: 5, accessKeys: 0 },
    ]);
    expect(await s.stop()).toBe(0);
    s = await start(dir);
    await checkAll();
  }, 120_000);
});

describe("rewrap survives kill -9", () => {
  it("a rewrap killed midway resumes after the restart, completes, and every object still reads", async () => {
    const dir = path.join(tempDir(), "data");
    dirs.push(path.dirname(dir));
    const count = 20_000;
    const body = (i: number) => Buffer.from(`object number ${i} of the rewrap test`);
    const filled = await populate(dir, {}, "alice", count, body);
    await filled.close();

    // A pause after each batch, so that the kill surely lands midway on a fast machine.
    let s = await start(dir, { SSE_JOB_PAUSE_MS: "200" });
    const alice = () => as(s, filled.token);
    expect((await json(alice()("/keys/rotate", post()))).primaryVersion).toBe(2);
    const { jobId } = await json(alice()("/keys/rewrap", post()), 202);
    // Kill as soon as the job is seen part-way: the checkpoint after each batch serves this poll.
    for (;;) {
      const job = await json(s.fetch(`/jobs/${jobId}`));
      expect(job.state, "the rewrap finished before it could be killed").toBe("running");
      if (job.done > 0) break;
    }
    await s.kill();

    // On disk now: some objects moved, the others not yet.
    const db = new Database(path.join(dir, "objects.db"), { readonly: true });
    const perVersion = new Map(
      (
        db.prepare("SELECT kek_version AS v, count(*) AS n FROM objects GROUP BY kek_version").all() as {
          v: number;
          n: number;
        }[]
      ).map((r) => [r.v, r.n]),
    );
    db.close();
    expect(perVersion.get(1), "objects still under version 1").toBeGreaterThan(0);
    expect(perVersion.get(2), "objects already under version 2").toBeGreaterThan(0);

    s = await start(dir);
    const job = await finished(s, jobId);
    expect(job).toMatchObject({ state: "done", done: count, total: count, result: { damagedCount: 0 } });
    const keys = await json(alice()("/keys"));
    expect(keys.versions.map((v: { objects: number }) => v.objects)).toEqual([0, count]);
    expect(
      (await json(alice()("/keys/min-decryption-version", post({ version: 2 })))).minDecryptionVersion,
    ).toBe(2);
    for (let i = 0; i < count; i += 397) {
      const r = await alice()(`/data/o${i}`);
      expect(r.status).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(body(i))).toBe(true);
    }
    const verify = await finished(s, (await json(alice()("/keys/verify", post()), 202)).jobId);
    expect(verify).toMatchObject({ state: "done", done: count, result: { damagedCount: 0 } });
    // The command verifies the caller's own objects by default.
    const cmd = await ssestoreVerify(s, filled.token);
    expect(cmd.code, cmd.err).toBe(0);
    expect(cmd.out).toContain(`(verify): done ${count}/${count}`);
  }, 180_000);
});

describe("root rotation survives kill -9", () => {
  it("requests go on during the rotation; killed midway, it resumes and retires the old root; everything reads", async () => {
    const dir = path.join(tempDir(), "data");
    dirs.push(path.dirname(dir));
    const filled = await populate(dir, {}, "alice", 40, (i) => Buffer.from(`alice's object ${i}`));
    // Enough users that rewrapping their KEKs (one durable write each) takes a while.
    const users = 800;
    for (let i = 0; i < users; i++) {
      const u = await filled.services.auth.createUser(`u${i}`, "user");
      if (i % 100 === 0)
        await filled.services.objects.put({
          owner: u.uid,
          id: "mine",
          body: [Buffer.from(`u${i}'s`)],
          contentType: "x/y",
          cond: {},
        });
    }
    await filled.close();

    // A pause after each page of 100 KEKs, so that the kill surely lands midway on a fast machine.
    let s = await start(dir, { SSE_JOB_PAUSE_MS: "400" });
    const alice = () => as(s, filled.token);
    const { jobId } = await json(s.fetch("/admin/root-key/rotate", post()), 202);
    // Requests during the rotation: reads, writes, a new user with its first key.
    let late = "";
    let n = 0;
    for (;;) {
      const i = n++;
      expect((await alice()(`/data/o${i % 40}`)).status).toBe(200);
      expect(
        (await alice()(`/data/during-${i}`, { method: "PUT", body: `written during ${i}` })).status,
      ).toBe(201);
      if (i === 0) {
        await json(s.fetch("/users", post({ name: "late", role: "user" })), 201);
        late = (await json(s.fetch("/users/late/tokens", post({})), 201)).token;
        expect((await as(s, late)("/data/x", { method: "PUT", body: "late's" })).status).toBe(201);
      }
      const job = await json(s.fetch(`/jobs/${jobId}`));
      expect(job.state, "the root rotation finished before it could be killed").toBe("running");
      if (job.done >= 50) break;
    }
    await s.kill();

    const db = new Database(path.join(dir, "keys.db"), { readonly: true });
    const roots = db.prepare("SELECT DISTINCT root_version FROM kek_versions ORDER BY 1").pluck().all();
    db.close();
    expect(roots, "KEKs under both root versions").toEqual([1, 2]);

    s = await start(dir);
    const done = await finished(s, jobId);
    expect(done).toMatchObject({ state: "done", result: { rootVersion: 2, retired: [1] } });
    expect(await json(s.fetch("/admin/root-key"))).toMatchObject({ primaryVersion: 2, versions: [2] });
    // A fresh process: every KEK is unwrapped under the new root for the first time.
    for (let i = 0; i < 40; i++)
      expect(await (await alice()(`/data/o${i}`)).text()).toBe(`alice's object ${i}`);
    for (let i = 0; i < n; i++)
      expect(await (await alice()(`/data/during-${i}`)).text()).toBe(`written during ${i}`);
    expect(await (await as(s, late)("/data/x")).text()).toBe("late's");
    const verify = await finished(s, (await json(s.fetch("/admin/verify", post()), 202)).jobId);
    expect(verify).toMatchObject({
      state: "done",
      done: 40 + n + 1 + users / 100,
      result: { damagedCount: 0 },
    });
  }, 180_000);
});

describe("verify", () => {
  it("reports each object damaged on disk while the server was down", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let s = await start(dir);
    const bodies = new Map<string, Buffer>();
    for (const [id, n] of [
      ["a", 10],
      ["b", 200_000],
      ["c", 70_000],
      ["d", 5],
    ] as const) {
      const body = randomBytes(n);
      bodies.set(id, body);
      await json(s.fetch(`/data/${id}`, { method: "PUT", body: new Uint8Array(body) }), 201);
    }
    const clean = await finished(s, (await json(s.fetch("/admin/verify", post()), 202)).jobId);
    const bytes = 10 + 200_000 + 70_000 + 5;
    expect(clean).toMatchObject({
      state: "done",
      done: 4,
      total: 4,
      // Bytes too: one large object must not look like a stalled job.
      bytesDone: bytes,
      bytesTotal: bytes,
      result: { damagedCount: 0, damaged: [] },
    });
    expect(clean.result).not.toHaveProperty("bytesDone");
    const all = await ssestoreVerify(s, ADMIN_TOKEN, "--all");
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/\(verify\): done 4\/4, 264 KiB, 0 damaged\n$/);
    expect(await s.stop()).toBe(0);

    const db = new Database(path.join(dir, "objects.db"));
    const segment = db.prepare(
      "SELECT s.write_id AS w, s.idx AS i, s.data AS d FROM segments s JOIN objects o ON o.write_id = s.write_id WHERE o.id = ? ORDER BY s.idx",
    );
    const b = (segment.all("b") as { w: Buffer; i: number; d: Buffer }[]).at(-1)!;
    b.d[7]! ^= 0x40;
    db.prepare("UPDATE segments SET data = ? WHERE write_id = ? AND idx = ?").run(b.d, b.w, b.i);
    const d = (segment.all("d") as { w: Buffer }[])[0]!;
    db.prepare("DELETE FROM segments WHERE write_id = ?").run(d.w);
    db.close();

    s = await start(dir);
    const job = await finished(s, (await json(s.fetch("/admin/verify", post({ user: "admin" })), 202)).jobId);
    expect(job).toMatchObject({ state: "done", done: 4, result: { damagedCount: 2, truncated: false } });
    expect(job.result.damaged.map((x: { id: string }) => x.id).sort()).toEqual(["b", "d"]);
    for (const x of job.result.damaged) expect(x.error).toMatch(/^integrity_error: /);
    // The command (every user's objects, or one user's): each damaged id, and a non-zero exit.
    for (const args of [["--all"], ["--user", "admin"]]) {
      const cmd = await ssestoreVerify(s, ADMIN_TOKEN, ...args);
      expect(cmd.code, cmd.err).toBe(5);
      expect(cmd.out).toContain("damaged: b\n");
      expect(cmd.out).toContain("damaged: d\n");
      expect(cmd.err).toMatch(/2 objects are damaged/);
    }
    expect((await ssestoreVerify(s, ADMIN_TOKEN, "--user", "nobody")).code).toBe(3);
    // The damaged object is never served: a clean error before the headers, or a cut connection.
    const r = await s.fetch("/data/d");
    expect(r.status).toBe(500);
    expect((await r.json()).code).toBe("integrity_error");
    expect(Buffer.from(await (await s.fetch("/data/a")).arrayBuffer()).equals(bodies.get("a")!)).toBe(true);
  }, 60_000);
});
