// The database settings: PostgreSQL URLs checked, the keys URL only beside a database URL, the pool size and the SQLite page cache bounded.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("PostgreSQL settings", () => {
  it("take postgres:// URLs and a pool size, with defaults", () => {
    const cfg = loadConfig({
      SSE_DATABASE_URL: "postgres://u:p@db/sse",
      SSE_KEYS_DATABASE_URL: "postgresql://u:p@keys/sse",
      SSE_DATABASE_POOL_SIZE: "25",
    });
    expect(cfg.databaseUrl).toBe("postgres://u:p@db/sse");
    expect(cfg.keysDatabaseUrl).toBe("postgresql://u:p@keys/sse");
    expect(cfg.databasePoolSize).toBe(25);
    const plain = loadConfig({});
    expect(plain.databaseUrl).toBeUndefined();
    expect(plain.databasePoolSize).toBe(10);
  });

  it("refuse other URLs, a keys URL without a database URL, and a pool of 0", () => {
    expect(() => loadConfig({ SSE_DATABASE_URL: "mysql://db/sse" })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ SSE_DATABASE_URL: "postgres://db/sse", SSE_KEYS_DATABASE_URL: "http://x" }),
    ).toThrow(/SSE_KEYS_DATABASE_URL must start with postgres/);
    expect(() => loadConfig({ SSE_KEYS_DATABASE_URL: "postgres://db/keys" })).toThrow(
      /needs SSE_DATABASE_URL/,
    );
    expect(() => loadConfig({ SSE_DATABASE_URL: "postgres://db/sse", SSE_DATABASE_POOL_SIZE: "0" })).toThrow(
      /at least 1/,
    );
  });

  it("never echo a URL (it may hold a password) in an error", () => {
    const err = (() => {
      try {
        loadConfig({ SSE_DATABASE_URL: "postgres://db/sse", SSE_KEYS_DATABASE_URL: "ftp://u:hunter2@x" });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).not.toContain("hunter2");
  });
});

describe("SQLite settings", () => {
  it("take a page cache size in MiB, 2 by default, at least 1", () => {
    expect(loadConfig({}).sqliteCacheMib).toBe(2);
    expect(loadConfig({ SSE_SQLITE_CACHE_MIB: "64" }).sqliteCacheMib).toBe(64);
    expect(() => loadConfig({ SSE_SQLITE_CACHE_MIB: "0" })).toThrow(/at least 1/);
    expect(() => loadConfig({ SSE_SQLITE_CACHE_MIB: "2.5" })).toThrow(/must be an integer/);
  });
});
