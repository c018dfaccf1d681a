import { describe, expect, it } from "vitest";
import { Backoff, FailureLog } from "../../src/failure-log.js";

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    logger: {
      error: (obj: Record<string, unknown>, msg: string) => lines.push({ level: "error", obj, msg }),
      info: (obj: Record<string, unknown>, msg: string) => lines.push({ level: "info", obj, msg }),
    } as never,
  };
}

describe("FailureLog", () => {
  it("logs the first failure, then one summary a minute with the count, then the recovery once", () => {
    const { lines, logger } = recorder();
    let now = 1_000_000;
    const log = new FailureLog(logger, "checkpoint", { now: () => now });
    const boom = new Error("database or disk is full");
    log.failed(boom);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", obj: { err: boom } });
    expect(lines[0]!.msg).toMatch(/^checkpoint failed/);
    expect(log.failing).toBe(true);
    // 800 failures in the next 59 s: nothing more.
    for (let i = 0; i < 800; i++) {
      now += 59_000 / 800;
      log.failed(boom);
    }
    expect(lines).toHaveLength(1);
    // The first failure a minute after the last line brings the summary.
    now = 1_000_000 + 60_000;
    log.failed(boom);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: "error",
      msg: "checkpoint still failing",
      obj: { failures: 801, failuresInAll: 802, failingForSeconds: 60 },
    });
    now += 30_000;
    log.failed(boom);
    expect(lines).toHaveLength(2);
    log.succeeded();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({
      level: "info",
      msg: "checkpoint works again",
      obj: { failures: 803, failingForSeconds: 90 },
    });
    expect(log.failing).toBe(false);
    // Success while nothing failed says nothing; the next failure is logged at once again.
    log.succeeded();
    expect(lines).toHaveLength(3);
    log.failed(boom);
    expect(lines).toHaveLength(4);
    expect(lines[3]!.level).toBe("error");
  });
});

describe("Backoff", () => {
  it("doubles the pause from the initial one up to the ceiling, and starts over after a reset", () => {
    const b = new Backoff({ initialMs: 25, maxMs: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      25, 50, 100, 200, 400, 800, 1000, 1000,
    ]);
    for (let i = 0; i < 2000; i++) expect(b.next()).toBe(1000);
    b.reset();
    expect(b.next()).toBe(25);
  });
});
