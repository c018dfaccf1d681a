// /metrics on a real server process: the counters move with the requests that cause them.
import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue, parseMetrics, type Sample } from "../helpers/prometheus.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { flipSegmentBit } from "../helpers/tamper.js";

const MiB = 1024 * 1024;
let server: ServerProcess;

async function scrape(): Promise<Sample[]> {
  const r = await fetch(`${server.url}/metrics`);
  expect(r.status).toBe(200);
  return parseMetrics(await r.text());
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

describe("GET /metrics", () => {
  it("is served to a client on this machine without a token, in the Prometheus text format", async () => {
    const r = await fetch(`${server.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.headers.get("x-request-id")).toBeTruthy();
    const samples = parseMetrics(await r.text());
    expect(metricValue(samples, "sse_build_info")).toBe(1);
    expect(metricValue(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
  });

  it("is listed in the OpenAPI document without a user token (it has a guard of its own)", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { security?: unknown[] } }>;
    };
    expect(doc.paths["/metrics"]?.get?.security).toEqual([]);
  });

  it("counts requests by route pattern and status, and bytes in and out on the wire", async () => {
    const labels = { method: "PUT", route: "/data/*", status: "201" };
    const before = await scrape();
    const body = randomBytes(3 * MiB + 300 * 1024);
    const id = `metrics/${randomBytes(6).toString("hex")}`;
    const put = await server.fetch(`/data/${id}`, { method: "PUT", body });
    expect(put.status).toBe(201);
    const get = await server.fetch(`/data/${id}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(body)).toBe(true);
    const after = await scrape();

    const count = (s: Sample[], l: Record<string, string>) =>
      metricValue(s, "sse_http_request_duration_seconds_count", l);
    expect(count(after, labels) - count(before, labels)).toBe(1);
    expect(
      count(after, { method: "GET", route: "/data/*", status: "200" }) -
        count(before, { method: "GET", route: "/data/*", status: "200" }),
    ).toBe(1);
    const inBytes = (s: Sample[]) => metricValue(s, "sse_http_received_bytes_total", { route: "/data/*" });
    const outBytes = (s: Sample[]) => metricValue(s, "sse_http_sent_bytes_total", { route: "/data/*" });
    // The body plus a request line and headers, each request to the nearest whole MiB: 3 MiB.
    expect(inBytes(after) - inBytes(before)).toBe(3 * MiB);
    expect(outBytes(after) - outBytes(before)).toBe(3 * MiB);
    // Routes are patterns: an object id never becomes a label.
    expect(after.some((s) => Object.values(s.labels).some((v) => v.includes(id)))).toBe(false);
  });

  it("never moves a metric by one object's size, on upload or download", async () => {
    // Sizes that no rounding of theirs could hide inside the window checked below.
    for (const size of [777, 300 * 1024 + 5, 1_234_567, 3 * 1024 * 1024 + 4321]) {
      const id = `size-${size}-${randomBytes(4).toString("hex")}`;
      const body = randomBytes(size);
      const before = await scrape();
      expect((await server.fetch(`/data/${id}`, { method: "PUT", body })).status).toBe(201);
      const got = await server.fetch(`/data/${id}`);
      expect((await got.arrayBuffer()).byteLength).toBe(size);
      const after = await scrape();
      const key = (x: Sample) => `${x.name}${JSON.stringify(x.labels)}`;
      const was = new Map(before.map((x) => [key(x), x.value]));
      for (const s of after.filter((x) => x.name.startsWith("sse_"))) {
        const delta = s.value - (was.get(key(s)) ?? 0);
        // The size itself, or the size plus a request line and headers: either names the object's size.
        expect(delta >= size && delta <= size + 4096, `${key(s)} moved by ${delta} for ${size} bytes`).toBe(
          false,
        );
      }
    }
  });

  it("counts objects stored (created, replaced) and deleted, and their bytes", async () => {
    const before = await scrape();
    const id = `stored-${randomBytes(6).toString("hex")}`;
    expect((await server.fetch(`/data/${id}`, { method: "PUT", body: "one" })).status).toBe(201);
    expect((await server.fetch(`/data/${id}`, { method: "PUT", body: "second" })).status).toBe(200);
    expect(
      (await server.fetch("/data", { method: "POST", body: JSON.stringify({ data: "item" }) })).status,
    ).toBe(200);
    expect((await server.fetch(`/data/${id}`, { method: "DELETE" })).status).toBe(204);
    const after = await scrape();
    const diff = (name: string, labels?: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(diff("sse_objects_stored_total", { result: "created" })).toBe(2);
    expect(diff("sse_objects_stored_total", { result: "replaced" })).toBe(1);
    // Each write to the nearest whole MiB: these small ones count nothing.
    expect(diff("sse_objects_stored_bytes_total")).toBe(0);
    expect(diff("sse_objects_deleted_total")).toBe(1);
  });

  it("counts the bytes of large writes in whole MiB, one write at a time", async () => {
    const before = await scrape();
    for (const size of [2 * MiB + 600 * 1024, MiB + 1, MiB / 2 - 1]) {
      const id = `mib-${size}-${randomBytes(4).toString("hex")}`;
      expect((await server.fetch(`/data/${id}`, { method: "PUT", body: randomBytes(size) })).status).toBe(
        201,
      );
    }
    const after = await scrape();
    // 2.6 MiB → 3, 1 MiB + 1 byte → 1, just under half a MiB → 0.
    expect(
      metricValue(after, "sse_objects_stored_bytes_total") -
        metricValue(before, "sse_objects_stored_bytes_total"),
    ).toBe(4 * MiB);
  });

  it("counts authentication failures by reason", async () => {
    const before = await scrape();
    expect(
      (await server.fetch("/data", { headers: { authorization: "Bearer sse_0123456789abcdef_wrong" } }))
        .status,
    ).toBe(401);
    expect((await fetch(`${server.url}/data`)).status).toBe(401);
    const after = await scrape();
    const diff = (reason: string) =>
      metricValue(after, "sse_auth_failures_total", { reason }) -
      metricValue(before, "sse_auth_failures_total", { reason });
    expect(diff("invalid")).toBe(1);
    expect(diff("missing")).toBe(1);
    const refused = { method: "GET", route: "/data", status: "401" };
    expect(
      metricValue(after, "sse_http_request_duration_seconds_count", refused) -
        metricValue(before, "sse_http_request_duration_seconds_count", refused),
    ).toBe(2);
  });

  it("labels requests that match no route as unmatched", async () => {
    const before = await scrape();
    expect((await fetch(`${server.url}/no/such/route/${randomBytes(4).toString("hex")}`)).status).toBe(404);
    const after = await scrape();
    const l = { route: "unmatched", status: "404" };
    expect(
      metricValue(after, "sse_http_request_duration_seconds_count", l) -
        metricValue(before, "sse_http_request_duration_seconds_count", l),
    ).toBe(1);
  });

  it("shows the key cache serving repeated reads", async () => {
    const id = `cache-${randomBytes(6).toString("hex")}`;
    expect((await server.fetch(`/data/${id}`, { method: "PUT", body: "x" })).status).toBe(201);
    const before = await scrape();
    expect((await server.fetch(`/data/${id}`)).status).toBe(200);
    const after = await scrape();
    expect(
      metricValue(after, "sse_key_cache_hits_total") - metricValue(before, "sse_key_cache_hits_total"),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, "sse_key_cache_misses_total")).toBe(
      metricValue(before, "sse_key_cache_misses_total"),
    );
    expect(metricValue(after, "sse_key_cache_entries")).toBeGreaterThanOrEqual(1);
  });

  it("counts background jobs by kind and final state", async () => {
    const before = await scrape();
    expect((await server.fetch("/data/job-object", { method: "PUT", body: "x" })).status).toBe(201);
    expect((await server.fetch("/keys/rotate", { method: "POST" })).status).toBe(200);
    const started = await server.fetch("/keys/rewrap", { method: "POST" });
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };
    const deadline = Date.now() + 15_000;
    for (;;) {
      const job = (await (await server.fetch(`/jobs/${jobId}`)).json()) as { state: string };
      if (job.state === "done") break;
      expect(job.state).toBe("running");
      if (Date.now() > deadline) throw new Error("the rewrap job did not finish");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The runner records the outcome right after the job's row says done.
    let after = await scrape();
    const done = { kind: "rewrap", state: "done" };
    while (
      metricValue(after, "sse_jobs_finished_total", done) ===
      metricValue(before, "sse_jobs_finished_total", done)
    ) {
      if (Date.now() > deadline) throw new Error("sse_jobs_finished_total did not move");
      after = await scrape();
    }
    expect(
      metricValue(after, "sse_jobs_finished_total", done) -
        metricValue(before, "sse_jobs_finished_total", done),
    ).toBe(1);
    expect(metricValue(after, "sse_jobs_running", { kind: "rewrap" })).toBe(0);
  });

  it("counts integrity failures, before the headers and mid-stream", async () => {
    const early = `tampered-early-${randomBytes(4).toString("hex")}`;
    const late = `tampered-late-${randomBytes(4).toString("hex")}`;
    expect((await server.fetch(`/data/${early}`, { method: "PUT", body: randomBytes(1000) })).status).toBe(
      201,
    );
    // Ten segments of 64 KiB, too many to read whole: damage in the last is found after the headers left.
    expect(
      (await server.fetch(`/data/${late}`, { method: "PUT", body: randomBytes(600 * 1024) })).status,
    ).toBe(201);
    flipSegmentBit(server.dataDir, early, 0);
    flipSegmentBit(server.dataDir, late, 9);
    const before = await scrape();
    const r = await server.fetch(`/data/${early}`);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { code: string }).code).toBe("integrity_error");
    const cut = await server.fetch(`/data/${late}`);
    expect(cut.status).toBe(200);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    const after = await scrape();
    expect(
      metricValue(after, "sse_integrity_failures_total") -
        metricValue(before, "sse_integrity_failures_total"),
    ).toBe(2);
    const aborted = { method: "GET", route: "/data/*", status: "aborted" };
    expect(
      metricValue(after, "sse_http_request_duration_seconds_count", aborted) -
        metricValue(before, "sse_http_request_duration_seconds_count", aborted),
    ).toBe(1);
  });
});

/** An address of this machine that is not loopback, if it has one. */
function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

describe("who may read /metrics without SSE_METRICS_TOKEN", () => {
  let open: ServerProcess;
  beforeAll(async () => {
    open = await startServer({ env: { SSE_HOST: "0.0.0.0" } });
  });
  afterAll(async () => {
    await open?.stop();
    open?.cleanup();
  });

  it("a client on loopback; not one whose request a proxy relayed", async () => {
    expect((await fetch(`http://127.0.0.1:${open.port}/metrics`)).status).toBe(200);
    const relayed = await fetch(`http://127.0.0.1:${open.port}/metrics`, {
      headers: { "x-forwarded-for": "203.0.113.9" },
    });
    expect(relayed.status).toBe(403);
    expect(((await relayed.json()) as { code: string }).code).toBe("forbidden");
  });

  const external = externalIPv4();
  it.skipIf(!external)("not a client that reaches it over the network (403 problem+json)", async () => {
    const r = await fetch(`http://${external}:${open.port}/metrics`, {
      headers: { "x-forwarded-for": "127.0.0.1" },
    });
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await r.text()).not.toContain("sse_build_info");
  });
});
