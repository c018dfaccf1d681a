import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("SSE_BOOTSTRAP_TOKEN", () => {
  it("accepts 32 to 512 printable characters", () => {
    for (const t of [
      "x".repeat(32),
      "sse_test_bootstrap_token_0123456789abcdefghijklmnopqrstuvwxyz",
      "~".repeat(512),
    ])
      expect(loadConfig({ SSE_BOOTSTRAP_TOKEN: t }).bootstrapToken).toBe(t);
    expect(loadConfig({}).bootstrapToken).toBeUndefined();
  });

  it.each([
    ["too short to resist guessing", "x".repeat(31)],
    ["too long", "x".repeat(513)],
    ["with a space", `${"x".repeat(20)} ${"x".repeat(20)}`],
    ["with a control character", `${"x".repeat(40)}\n`],
    ["not ASCII", "é".repeat(40)],
  ])("refuses one %s, without echoing it", (_why, t) => {
    let err: unknown;
    try {
      loadConfig({ SSE_BOOTSTRAP_TOKEN: t });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("SSE_BOOTSTRAP_TOKEN");
    expect((err as Error).message).not.toContain(t);
  });
});
