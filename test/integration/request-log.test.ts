// The "request completed" line that RequestLog writes itself must be the line pino would write
// through its generic path (child logger, serializers, redaction), field for field.
import { Writable } from "node:stream";
import Fastify, { type FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { genReqId } from "../../src/http/request-id.js";
import { requestLogging } from "../../src/http/request-log.js";
import { createLogger } from "../../src/logger.js";
import { LIBRARY_SHORTCUTS, type LibraryShortcut } from "../../src/settings.js";

async function linesFor(
  shortcuts: readonly LibraryShortcut[],
): Promise<{ lines: Record<string, unknown>[]; children: number }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = createLogger({ logLevel: "info" }, sink);
  // Request lines through pino need the request's child logger; written directly, they do not.
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof logger.child;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    ...requestLogging(logger, shortcuts),
    genReqId,
  });
  app.get("/data/*", async () => ({ ok: true }));
  app.get("/links/:token", { config: { redactPath: true } }, async () => "x");
  app.get("/quiet", { logLevel: "silent" }, async () => "shh");
  await app.ready();
  const requests = [
    { url: "/data/a%20b?token=secret", headers: { "x-request-id": "req.1_a-b" } },
    { url: "/nowhere?x=1", headers: { "x-request-id": "req-2" } },
    { url: "/links/sometoken", headers: { "x-request-id": "req-3" } },
    { url: "/%6cinks/othertoken", headers: { "x-request-id": "req-3b" } },
    { url: "/quiet", headers: { "x-request-id": "req-4" } },
    { url: "/data/ünïcode", headers: { "x-request-id": "req-5" } },
  ];
  for (const r of requests) await app.inject({ method: "GET", url: r.url, headers: r.headers });
  await app.close();
  const completed = lines
    .filter((l) => l.msg === "request completed")
    .map(({ time, responseTime, ...rest }) => {
      expect(typeof time).toBe("number");
      expect(typeof responseTime).toBe("number");
      return rest;
    });
  return { lines: completed, children };
}

describe("RequestLog's direct request line", () => {
  it("equals pino's own line for the same requests, key order included", async () => {
    const { lines: generic, children: genericChildren } = await linesFor(["lazy-logger"]);
    const { lines: direct, children: directChildren } = await linesFor(LIBRARY_SHORTCUTS);
    // Each request line through pino needs a child logger; written directly, it does not (404s
    // and the silent route, with a level of its own, still make theirs).
    expect(genericChildren - directChildren).toBeGreaterThanOrEqual(2);
    expect(direct).toHaveLength(5); // the silent route logs nothing either way
    expect(direct).toEqual(generic);
    expect(direct.map((l) => Object.keys(l))).toEqual(generic.map((l) => Object.keys(l)));
    const text = JSON.stringify(direct);
    expect(text).not.toContain("secret");
    expect(text).not.toContain("sometoken");
    expect(text).not.toContain("othertoken");
  });

  it("is the same line with every library shortcut off (SSE_LIBRARY_SHORTCUTS=none)", async () => {
    const { lines: plain, children: plainChildren } = await linesFor([]);
    const { lines: direct } = await linesFor(LIBRARY_SHORTCUTS);
    expect(plain).toEqual(direct);
    // Without the lazy logger, Fastify builds a child logger for every request, logged or not.
    expect(plainChildren).toBeGreaterThanOrEqual(6);
  });
});
