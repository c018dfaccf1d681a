// The young collector asks V8 for a collection once per threshold of released bytes, and never
// when it is off. That the collection really happens is checked through V8's own counter of
// young-generation collections (node:perf_hooks reports each GC with its kind).
import { PerformanceObserver } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { NO_YOUNG_GC, YoungCollector } from "../../src/young-gc.js";

async function minorGcsDuring(fn: () => void): Promise<number> {
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // kind 1: minor (scavenge), as node:perf_hooks reports it.
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return minor;
}

describe("YoungCollector", () => {
  it("collects once per threshold of released bytes", async () => {
    const c = new YoungCollector(1000);
    expect(c.active).toBe(true);
    const seen = await minorGcsDuring(() => {
      c.released(600);
      expect(c.collections).toBe(0);
      c.released(600);
      expect(c.collections).toBe(1);
      c.released(999);
      expect(c.collections).toBe(1);
      c.released(1);
      expect(c.collections).toBe(2);
    });
    expect(seen).toBeGreaterThanOrEqual(2);
  });

  it("does nothing when off", () => {
    const c = new YoungCollector(0);
    expect(c.active).toBe(false);
    c.released(1 << 30);
    expect(c.collections).toBe(0);
    NO_YOUNG_GC.released(1 << 30);
    expect(NO_YOUNG_GC.collections).toBe(0);
  });

  it("does not put gc on the global object", () => {
    new YoungCollector(1).released(1);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
