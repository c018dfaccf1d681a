// GET /jobs and `ssestore jobs` against a real server: a user lists the jobs it started, newest
// first, a page at a time; an admin lists everyone's or one user's; nobody sees another's jobs.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../helpers/problem.js";
import { ROOT, type ServerProcess, startServer } from "../helpers/server-process.js";

let server: ServerProcess;
const tokens: Record<string, string> = {};
/** Job ids each user started, oldest first. */
const started: Record<string, string[]> = { alice: [], bob: [], admin: [] };

function call(method: string, p: string, token: string | null, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return server.fetch(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function ok<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

interface JobJson {
  id: string;
  kind: string;
  state: string;
  startedBy: string | null;
  created: string;
}
type Page = { jobs: JobJson[]; next: string | null };

beforeAll(async () => {
  server = await startServer({ env: { SSE_LOG_LEVEL: "warn" } });
  tokens.admin = server.token;
  for (const name of ["alice", "bob"]) {
    await ok(await call("POST", "/users", server.token, { name, role: "user" }), 201);
    tokens[name] = (
      await ok<{ token: string }>(await call("POST", `/users/${name}/tokens`, server.token, {}), 201)
    ).token;
  }
  // Interleaved, so an owner's jobs are not one contiguous run of the table.
  for (const who of ["alice", "bob", "alice", "admin", "alice"]) {
    const res = await call(
      "POST",
      who === "admin" ? "/admin/verify" : "/keys/verify",
      tokens[who]!,
      who === "admin" ? {} : undefined,
    );
    started[who]!.push((await ok<{ jobId: string }>(res, 202)).jobId);
  }
}, 60_000);

afterAll(async () => {
  await server?.kill();
});

describe("GET /jobs", () => {
  it("a user lists the jobs it started, newest first, with who started them", async () => {
    const page = await ok<Page>(await call("GET", "/jobs", tokens.alice!));
    expect(page.jobs.map((j) => j.id)).toEqual([...started.alice!].reverse());
    expect(page.next).toBeNull();
    expect(page.jobs.every((j) => j.kind === "verify" && j.startedBy === "alice")).toBe(true);
    const bob = await ok<Page>(await call("GET", "/jobs", tokens.bob!));
    expect(bob.jobs.map((j) => j.id)).toEqual(started.bob);
  });

  it("pages with limit and next, with no job repeated or skipped", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const q: string = after === null ? "?limit=2" : `?limit=2&after=${after}`;
      const page: Page = await ok<Page>(await call("GET", `/jobs${q}`, tokens.alice!));
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.id));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(pages).toBe(2);
    expect(seen).toEqual([...started.alice!].reverse());
  });

  it("an admin lists every job, or one user's", async () => {
    const all = await ok<Page>(await call("GET", "/jobs", tokens.admin!));
    const mine = new Set([...started.alice!, ...started.bob!, ...started.admin!]);
    expect(all.jobs.filter((j) => mine.has(j.id))).toHaveLength(5);
    expect(all.jobs.find((j) => j.id === started.bob![0])?.startedBy).toBe("bob");
    const times = all.jobs.map((j) => Date.parse(j.created));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const bob = await ok<Page>(await call("GET", "/jobs?user=bob", tokens.admin!));
    expect(bob.jobs.map((j) => j.id)).toEqual(started.bob);
    await expectProblem(await call("GET", "/jobs?user=nobody", tokens.admin!), 404);
  });

  it("refuses other users' jobs, bad cursors and bad limits, and changes nothing", async () => {
    await expectProblem(await call("GET", "/jobs?user=bob", tokens.alice!), 403, "forbidden");
    // A user may name itself.
    expect((await ok<Page>(await call("GET", "/jobs?user=alice", tokens.alice!))).jobs).toHaveLength(3);
    // Another user's job is no cursor for alice: its existence stays hidden behind the same 400.
    await expectProblem(await call("GET", `/jobs?after=${started.bob![0]}`, tokens.alice!), 400);
    await expectProblem(await call("GET", "/jobs?after=job_nope", tokens.alice!), 400);
    for (const q of ["limit=0", "limit=1001", "limit=x", "after="])
      await expectProblem(await call("GET", `/jobs?${q}`, tokens.alice!), 400);
    // Plain fetch: the harness's adds the bootstrap token.
    await expectProblem(await fetch(`${server.url}/jobs`), 401);
    // The job itself names who started it too.
    const one = await ok<JobJson>(await call("GET", `/jobs/${started.bob![0]}`, tokens.admin!));
    expect(one.startedBy).toBe("bob");
  });
});

describe("ssestore jobs", () => {
  function ssestore(
    token: string,
    ...args: string[]
  ): Promise<{ code: number | null; out: string; err: string }> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith("SSE_")) env[k] = v;
    Object.assign(env, {
      SSE_URL: server.url,
      SSE_TOKEN: token,
      SSE_CONFIG: path.join(server.dataDir, "no-cli-config.json"),
    });
    const proc = spawn(process.execPath, [path.join(ROOT, "bin/ssestore.js"), ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    return new Promise((resolve) => proc.once("close", (code) => resolve({ code, out, err })));
  }

  it("lists the caller's jobs as a table with a header, newest first, and pages through them", async () => {
    const r = await ssestore(tokens.alice!, "jobs");
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+KIND\s+STATE\s+PROGRESS\s+STARTED BY\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([...started.alice!].reverse());
    expect(lines[1]).toMatch(/ verify /);
    expect(lines[1]).toMatch(/ alice /);
    const limited = await ssestore(tokens.alice!, "jobs", "--limit", "2", "--json");
    expect(limited.code, limited.err).toBe(0);
    expect((JSON.parse(limited.out) as { jobs: JobJson[] }).jobs.map((j) => j.id)).toEqual(
      [...started.alice!].reverse().slice(0, 2),
    );
  });

  it("an admin lists one user's jobs; a user naming another fails", async () => {
    const r = await ssestore(tokens.admin!, "jobs", "--user", "bob", "--json");
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { jobs: JobJson[] }).jobs.map((j) => j.id)).toEqual(started.bob);
    const refused = await ssestore(tokens.alice!, "jobs", "--user", "bob");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/admin/i);
  });
});
