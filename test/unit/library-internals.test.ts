// What the code relies on inside other libraries, beyond their documented API, each fenced in one
// module: if an upgrade changes one of these, this file fails by name, before anything subtler.
// (pino, pg and fastify are pinned to exact versions in package.json for the same reason.)
import { Writable } from "node:stream";
import Fastify from "fastify";
import pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyRequestLogger } from "../../src/http/lazy-request-logger.js";
import { pinoDestination } from "../../src/http/pino-internals.js";
import { v8Collector } from "../../src/v8-gc.js";

describe("pino (src/http/pino-internals.ts)", () => {
  it("keeps a root logger's destination stream and serialized bindings under its symbols", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ base: { pid: 42, hostname: "h" } }, sink);
    const d = pinoDestination(logger);
    expect(d, "pino.symbols.streamSym / chindingsSym no longer hold the stream and bindings").not.toBeNull();
    expect(d!.chindings).toBe(',"pid":42,"hostname":"h"');
    // The stream is the one pino writes its own lines to.
    logger.info("one");
    d!.stream.write("two\n");
    expect(lines.join("")).toMatch(/"msg":"one"[^\n]*\ntwo\n$/);
  });
});

describe("V8 (src/v8-gc.ts)", () => {
  it("turns on --expose-gc at run time and hands over a collector that takes { type: 'minor' }", () => {
    const collect = v8Collector();
    expect(collect, "setFlagsFromString('--expose-gc') no longer yields gc in a new context").toBeTypeOf(
      "function",
    );
    expect(() => collect!({ type: "minor" })).not.toThrow();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

describe("node-postgres (src/store/postgres/binary-copy.ts)", () => {
  it("runs submittables: a client hands its connection, with the COPY writers, to submit()", () => {
    const client = new pg.Client();
    const connection = (client as unknown as { connection: Record<string, unknown> }).connection;
    for (const m of ["query", "sendCopyFromChunk", "endCopyFrom"])
      expect(typeof connection[m], `pg's Connection.${m}`).toBe("function");
    // The result callbacks binary-copy.ts implements are the ones the client calls on the active query.
    const handlers = Object.getOwnPropertyNames(pg.Query.prototype);
    for (const m of [
      "submit",
      "handleCopyData",
      "handleCopyInResponse",
      "handleError",
      "handleReadyForQuery",
    ])
      expect(handlers, `pg's Query.${m}`).toContain(m);
  });
});

describe("Fastify (src/http/lazy-request-logger.ts)", () => {
  it("builds each request's logger through childLoggerFactory", async () => {
    let made = 0;
    const app = Fastify({
      logger: { level: "warn" },
      childLoggerFactory: (logger, bindings, opts) => {
        made++;
        return lazyRequestLogger(logger, bindings, opts ?? {});
      },
    });
    app.get("/", async (req) => typeof req.log.info);
    const res = await app.inject({ method: "GET", url: "/" });
    expect(res.body).toBe("function");
    expect(made).toBe(1);
    await app.close();
  });
});
