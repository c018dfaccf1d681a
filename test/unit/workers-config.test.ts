import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { failureLimitPerProcess } from "../../src/app.js";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("SSE_WORKERS", () => {
  it("defaults to the number of cores; 1 and more are taken, 0 and words refused", () => {
    expect(loadConfig({}).workers).toBe(availableParallelism());
    expect(loadConfig({ SSE_WORKERS: "1" }).workers).toBe(1);
    expect(loadConfig({ SSE_WORKERS: "4" }).workers).toBe(4);
    expect(loadConfig({}, { workers: "3" }).workers).toBe(3);
    expect(() => loadConfig({ SSE_WORKERS: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ SSE_WORKERS: "many" })).toThrow(ConfigError);
  });

  it("gives each worker its share of the failure budget, at least one", () => {
    const role = (count: number) => ({ count, metrics: async () => "" });
    expect(failureLimitPerProcess(10, undefined)).toBe(10);
    expect(failureLimitPerProcess(10, role(2))).toBe(5);
    expect(failureLimitPerProcess(10, role(3))).toBe(4);
    expect(failureLimitPerProcess(2, role(8))).toBe(1);
  });
});
