import { describe, expect, it } from "vitest";
import { TOUCH_INTERVAL_MS, TouchThrottle } from "../../src/auth/touch-throttle.js";

describe("TouchThrottle", () => {
  it("lets each credential's lastUsed be written at most once per interval", () => {
    const t = new TouchThrottle();
    const t0 = 1_700_000_000_000;
    expect(t.due("a", t0)).toBe(true);
    expect(t.due("a", t0 + 1)).toBe(false);
    expect(t.due("b", t0 + 1)).toBe(true);
    expect(t.due("a", t0 + TOUCH_INTERVAL_MS - 1)).toBe(false);
    expect(t.due("a", t0 + TOUCH_INTERVAL_MS)).toBe(true);
    expect(t.due("a", t0 + TOUCH_INTERVAL_MS + 1)).toBe(false);
  });
});
