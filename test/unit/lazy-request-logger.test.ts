import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { lazyRequestLogger } from "../../src/http/lazy-request-logger.js";

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const logger = pino({ level }, dest);
  const child = vi.spyOn(logger, "child");
  return { logger, lines, child };
}

describe("lazyRequestLogger", () => {
  it("makes no child logger while nothing is logged at an enabled level", () => {
    const { logger, child } = capture("warn");
    const log = lazyRequestLogger(logger, { reqId: "r1" }, {});
    log.info("request completed");
    log.debug("incoming request");
    expect(child).not.toHaveBeenCalled();
    expect(log.level).toBe("warn");
  });

  it("logs with the request's bindings once a line gets through, making the child once", async () => {
    const { logger, lines, child } = capture("info");
    const log = lazyRequestLogger(logger, { reqId: "r2" }, {});
    log.info({ a: 1 }, "first");
    log.error("second");
    log.debug("dropped");
    await new Promise((r) => setImmediate(r));
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([
      ["r2", "first"],
      ["r2", "second"],
    ]);
    expect(lines[0]).toMatchObject({ a: 1 });
  });

  it("honours a level set on it, and a route's own level at once", async () => {
    const { logger, lines } = capture("warn");
    const log = lazyRequestLogger(logger, { reqId: "r3" }, {});
    log.level = "debug";
    log.debug("now visible");
    expect((log as unknown as pino.Logger).isLevelEnabled("debug")).toBe(true);
    expect(logger.level).toBe("warn");
    const quiet = lazyRequestLogger(logger, { reqId: "r4" }, { level: "silent" });
    quiet.error("never");
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual(["now visible"]);
  });
});
