// The seed's item API, end to end: {id, data} records under /data, kept exactly as the seed had it.
// The cases run in order against one server: each builds on the ids the previous ones created.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listAll } from "../helpers/listing.js";
import { expectProblem } from "../helpers/problem.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { putObject } from "../helpers/transfer.js";

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
}, 30_000);

function postItem(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch("/data", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function postOk(body: unknown): Promise<{ id: number; data: string }> {
  const res = await postItem(body);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
  return JSON.parse(text);
}

describe("items (the seed's API)", () => {
  it("lists nothing on a fresh store", async () => {
    const res = await server.fetch("/data");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
    expect(await res.json()).toEqual([]);
    expect(res.headers.get("link")).toBeNull();
  });

  it('creates {"data":"x"} as id 1 and reads it back', async () => {
    expect(await postOk({ data: "x" })).toEqual({ id: 1, data: "x" });
    const res = await server.fetch("/data/1");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ id: 1, data: "x" });
    expect(await listAll(server)).toEqual([1]);
  });

  it("gives a taken id the greatest integer id + 1 and keeps a free one", async () => {
    // Taken: 1 exists → 2, and item 1 is untouched.
    expect(await postOk({ id: 1, data: "y" })).toEqual({ id: 2, data: "y" });
    expect(await (await server.fetch("/data/1")).json()).toEqual({ id: 1, data: "x" });
    // Free ids are kept, also below the greatest.
    expect(await postOk({ id: 10, data: "ten" })).toEqual({ id: 10, data: "ten" });
    expect(await postOk({ id: 5, data: "five" })).toEqual({ id: 5, data: "five" });
    // Taken again: greatest (10) + 1, not the first gap.
    expect(await postOk({ id: 5, data: "five again" })).toEqual({ id: 11, data: "five again" });
    expect(await postOk({ data: "next" })).toEqual({ id: 12, data: "next" });
    expect(await (await server.fetch("/data/5")).json()).toEqual({ id: 5, data: "five" });
    expect(await (await server.fetch("/data/11")).json()).toEqual({ id: 11, data: "five again" });
  });

  it("keeps unicode and JSON-special characters in data exactly", async () => {
    const data = 'héllo "wörld" \\ \n\t ✓ 🔐 \u0000 end';
    const created = await postOk({ data });
    expect(created.data).toBe(data);
    const res = await server.fetch(`/data/${created.id}`);
    expect(await res.json()).toEqual({ id: created.id, data });
  });

  it("lists integer ids numerically as JSON numbers, then other ids bytewise as strings", async () => {
    for (const id of ["zeta", "B", "alpha/b", "007", "a-1", "100x"])
      await putObject(server, id, `object ${id}`);
    // A PUT with an integer id is an integer id too.
    await putObject(server, "100", "object 100");
    const ids = await listAll(server);
    expect(ids).toEqual([1, 2, 5, 10, 11, 12, 13, 100, "007", "100x", "B", "a-1", "alpha/b", "zeta"]);
    const res = await server.fetch("/data");
    const text = await res.text();
    // Numbers are JSON numbers, not strings of digits; "007" is not canonical, so it stays a string.
    expect(text).toMatch(/^\[1,\s*2,\s*5,\s*10,/);
    expect(text).toContain('"007"');
    // String ids never count for the next free integer.
    expect(await postOk({ data: "after objects" })).toEqual({ id: 101, data: "after objects" });
  });

  it("pages with limit and a Link rel=next header, followed to the end", async () => {
    const all = await listAll(server);
    expect(all.length).toBeGreaterThan(7);
    for (const limit of [1, 3, 7]) {
      const seen: (string | number)[] = [];
      let next: string | null = `/data?limit=${limit}`;
      let pages = 0;
      while (next) {
        const res = await server.fetch(next);
        expect(res.status).toBe(200);
        const page = (await res.json()) as (string | number)[];
        expect(page.length).toBeLessThanOrEqual(limit);
        seen.push(...page);
        pages++;
        const link = res.headers.get("link");
        if (link === null) {
          next = null;
          break;
        }
        const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
        expect(m, link).not.toBeNull();
        const target = new URL(m![1]!, server.url);
        expect(target.pathname).toBe("/data");
        expect(target.searchParams.get("limit")).toBe(String(limit));
        expect(target.searchParams.get("after")).toBe(String(page[page.length - 1]));
        expect(page.length).toBe(limit);
        next = target.pathname + target.search;
        expect(pages).toBeLessThan(100);
      }
      expect(seen).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / limit));
    }
  });

  it("answers a listing limit out of range with 400, never a huge page", async () => {
    for (const q of ["limit=0", "limit=10001", "limit=-1", "limit=abc"]) {
      await expectProblem(await server.fetch(`/data?${q}`), 400);
    }
    const res = await server.fetch("/data?limit=10000");
    expect(res.status).toBe(200);
  });

  it("refuses empty data with 400 empty_data", async () => {
    const before = await listAll(server);
    const p = await expectProblem(await postItem({ data: "" }), 400, "empty_data");
    expect(p.type).toMatch(/empty_data/);
    await expectProblem(await postItem({ id: 500, data: "" }), 400, "empty_data");
    expect(await listAll(server)).toEqual(before);
  });

  it("refuses bodies that are not {id?: integer, data: string} with 422", async () => {
    const before = await listAll(server);
    const bodies = [
      "not json",
      "{",
      "[1,2]",
      '["x"]',
      "null",
      '"data"',
      "42",
      "{}",
      '{"id":"x","data":"y"}',
      '{"id":1.5,"data":"y"}',
      '{"id":7}',
      '{"data":5}',
      '{"data":true}',
      '{"data":null}',
      '{"data":["x"]}',
      '{"data":{"a":1}}',
      '{"id":null,"data":"y"}',
      '{"id":true,"data":"y"}',
      '{"id":[3],"data":"y"}',
    ];
    const failures: string[] = [];
    for (const body of bodies) {
      const res = await postItem(body);
      if (res.status !== 422) {
        failures.push(`${body} → ${res.status} ${await res.text()}`);
        continue;
      }
      const p = await expectProblem(res, 422);
      expect(p.code, body).toBe("validation_error");
    }
    expect(failures).toEqual([]);
    expect(await listAll(server)).toEqual(before);
  });

  it("refuses an empty body with 422", async () => {
    const res = await server.fetch("/data", {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    await expectProblem(res, 422, "validation_error");
  });

  it("answers 404 not_found for an unknown id", async () => {
    for (const id of ["999999", "-424242", "nope", "a/b/c"]) {
      await expectProblem(await server.fetch(`/data/${id}`), 404, "not_found");
    }
  });

  it("sets X-Request-Id on every response", async () => {
    const responses = await Promise.all([
      server.fetch("/data"),
      server.fetch("/data/1"),
      server.fetch("/data/999"),
      postItem("nope"),
      fetch(`${server.url}/data`),
      fetch(`${server.url}/health`),
      fetch(`${server.url}/no/such/route`),
    ]);
    const ids = new Set<string>();
    for (const r of responses) {
      const rid = r.headers.get("x-request-id");
      expect(rid, `${r.url} ${r.status}`).toBeTruthy();
      ids.add(rid!);
      await r.arrayBuffer();
    }
    expect(ids.size).toBe(responses.length);
  });

  it("needs a bearer token: 401 with WWW-Authenticate: Bearer", async () => {
    const before = await listAll(server);
    const cases: RequestInit[] = [
      {},
      { headers: { authorization: "" } },
      { headers: { authorization: "Basic YWRtaW46YWRtaW4=" } },
      { headers: { authorization: "Bearer sse_not_a_real_token_at_all_0000000000000000000000" } },
    ];
    for (const init of cases) {
      for (const [path, method, body] of [
        ["/data", "GET", undefined],
        ["/data", "POST", '{"data":"sneaky"}'],
        ["/data/1", "GET", undefined],
      ] as const) {
        const res = await fetch(server.url + path, { ...init, method, body });
        const p = await expectProblem(res, 401, "unauthorized");
        expect(p.detail ?? "").not.toContain("sse_not_a_real_token");
        expect(res.headers.get("www-authenticate") ?? "").toMatch(/^Bearer\b/);
      }
    }
    expect(await listAll(server)).toEqual(before);
  });

  it("gives 50 concurrent POSTs without id 50 distinct ids", async () => {
    const before = new Set(await listAll(server));
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await postItem({ data: `concurrent ${i}` });
        return { status: res.status, text: await res.text() };
      }),
    );
    const bad = results.filter((r) => r.status !== 200);
    expect(bad).toEqual([]);
    const items = results.map((r) => JSON.parse(r.text) as { id: number; data: string });
    const ids = items.map((it) => it.id);
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) {
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(before.has(id)).toBe(false);
    }
    // Each id holds its own data.
    for (const it of items) {
      const res = await server.fetch(`/data/${it.id}`);
      expect(await res.json()).toEqual(it);
    }
    const after = await listAll(server);
    for (const id of ids) expect(after).toContain(id);
  }, 60_000);
});
