// The operational parts of build() in-process (real SQLite stores, the file key provider): the
// draining answer, the optional metrics token, the key cache's counts and redacted logs.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type App, build } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { ServiceMetrics } from "../../src/http/metrics.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import { createLogger } from "../../src/logger.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import { metricValue, parseMetrics } from "../helpers/prometheus.js";

const TOKEN = "sse_ops_test_token_0123456789abcdefghijklmnopqrstuvwxyz0123";
const METRICS_TOKEN = "metrics-secret-0123456789abcdefghijklmnop";

let dir: string;
let built: App;
let closeAll: () => Promise<void>;
let logged: string[];

async function setup(env: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({ SSE_DATA_DIR: dir, SSE_LOG_LEVEL: "info", ...env });
  logged = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(config, sink);
  const stores = openSqliteStores(dir);
  const root: RootKeyProvider = createRootKeyProvider({ config, logger });
  await root.open();
  built = await build(config, { stores, root, logger });
  await built.services.auth.bootstrap({ token: TOKEN, dataDir: dir });
  closeAll = async () => {
    await built.app.close();
    await built.services.objects.settle();
    await stores.close();
    await root.close();
  };
  return built;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-ops-app-"));
});

afterEach(async () => {
  await closeAll?.();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe("draining", () => {
  it("answers new requests 503 shutting_down as problem+json, and closes their connection", async () => {
    const { app, beginShutdown } = await setup();
    expect((await app.inject({ url: "/ready" })).statusCode).toBe(200);
    beginShutdown();
    for (const url of ["/ready", "/data", "/health"]) {
      const r = await app.inject({ url, headers: { ...auth, "x-request-id": "drain-1" } });
      expect(r.statusCode).toBe(503);
      expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(r.headers.connection).toBe("close");
      expect(r.json()).toMatchObject({ code: "shutting_down", status: 503, requestId: "drain-1" });
    }
  });
});

describe("SSE_METRICS_TOKEN", () => {
  it("serves /metrics only to loopback clients when unset, judged by the socket's address", async () => {
    const { app } = await setup();
    for (const remoteAddress of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      expect((await app.inject({ url: "/metrics", remoteAddress })).statusCode, remoteAddress).toBe(200);
    for (const remoteAddress of ["192.0.2.10", "10.0.0.1", "::ffff:10.0.0.1", "fd00::1", "128.0.0.1"]) {
      const r = await app.inject({ url: "/metrics", remoteAddress });
      expect(r.statusCode, remoteAddress).toBe(403);
      expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(r.json()).toMatchObject({ code: "forbidden" });
      expect(r.body).not.toContain("sse_");
    }
    // A header cannot make a remote client local; a forwarded request is a remote client's.
    const claimed = await app.inject({
      url: "/metrics",
      remoteAddress: "192.0.2.10",
      headers: { "x-forwarded-for": "127.0.0.1" },
    });
    expect(claimed.statusCode).toBe(403);
    for (const headers of [
      { "x-forwarded-for": "203.0.113.7" },
      { forwarded: "for=203.0.113.7" },
      { "x-real-ip": "203.0.113.7" },
    ])
      expect((await app.inject({ url: "/metrics", remoteAddress: "127.0.0.1", headers })).statusCode).toBe(
        403,
      );
  });

  it("serves /metrics to any address with the token when set", async () => {
    const { app } = await setup({ SSE_METRICS_TOKEN: METRICS_TOKEN });
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    expect(
      (await app.inject({ url: "/metrics", remoteAddress: "192.0.2.10", headers: bearer })).statusCode,
    ).toBe(200);
    expect((await app.inject({ url: "/metrics", remoteAddress: "192.0.2.10" })).statusCode).toBe(401);
  });

  it("guards /metrics with its own bearer token when set; user tokens do not open it", async () => {
    const { app } = await setup({ SSE_METRICS_TOKEN: METRICS_TOKEN });
    const none = await app.inject({ url: "/metrics" });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.json()).toMatchObject({ code: "unauthorized" });
    expect((await app.inject({ url: "/metrics", headers: auth })).statusCode).toBe(401);
    const ok = await app.inject({ url: "/metrics", headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    const samples = parseMetrics(ok.body);
    expect(metricValue(samples, "sse_auth_failures_total", { reason: "missing" })).toBe(1);
    expect(metricValue(samples, "sse_auth_failures_total", { reason: "invalid" })).toBe(1);
    expect(logged.join("")).not.toContain(METRICS_TOKEN);
  });
});

describe("metrics of two apps in one process", () => {
  it("keep separate registries", async () => {
    const first = await setup();
    await first.app.inject({ url: "/health" });
    // A second set of the same metric names: the global registry would refuse them.
    const other = new ServiceMetrics("test");
    const samples = parseMetrics(await other.registry.metrics());
    expect(metricValue(samples, "sse_http_request_duration_seconds_count", { route: "/health" })).toBe(0);
    const mine = parseMetrics(await first.metrics.registry.metrics());
    expect(
      metricValue(mine, "sse_http_request_duration_seconds_count", { route: "/health", status: "200" }),
    ).toBe(1);
  });
});

describe("the key cache", () => {
  it("counts one miss for a key it has to unwrap, then hits", async () => {
    const { app, services } = await setup();
    const cache = services.keys.cache;
    cache.clear();
    const [hits, misses] = [cache.hits, cache.misses];
    expect(
      (await app.inject({ method: "PUT", url: "/data/a", headers: auth, payload: "x" })).statusCode,
    ).toBe(201);
    expect(cache.misses - misses).toBe(1);
    expect((await app.inject({ url: "/data/a", headers: auth })).statusCode).toBe(200);
    expect(cache.misses - misses).toBe(1);
    expect(cache.hits - hits).toBe(1);
  });
});
