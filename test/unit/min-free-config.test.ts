import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("SSE_MIN_FREE_BYTES", () => {
  it("is unset by default, so that the reserve is computed from the volume at start", () => {
    expect(loadConfig({}).minFreeBytes).toBeUndefined();
    expect(loadConfig({ SSE_MIN_FREE_BYTES: "" }).minFreeBytes).toBeUndefined();
  });

  it("takes a number of bytes, 0 turning the reserve off, and the flag over the environment", () => {
    expect(loadConfig({ SSE_MIN_FREE_BYTES: "0" }).minFreeBytes).toBe(0);
    expect(loadConfig({ SSE_MIN_FREE_BYTES: "8388608" }).minFreeBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ SSE_MIN_FREE_BYTES: "1" }, { minFreeBytes: "2" }).minFreeBytes).toBe(2);
  });

  it("refuses what is not a byte count", () => {
    for (const bad of ["-1", "1GiB", "1.5", "lots"])
      expect(() => loadConfig({ SSE_MIN_FREE_BYTES: bad }), bad).toThrow(ConfigError);
  });
});
