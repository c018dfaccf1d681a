// Every secret setting also comes from a file named by <NAME>_FILE, as the official postgres image
// does: kept out of the environment and of `docker inspect`.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, fileEnv, loadConfig } from "../../src/config.js";
import { SETTINGS } from "../../src/settings.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "sse-secret-files-"));
function secretFile(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("no ConfigError");
}

describe("<NAME>_FILE for secret settings", () => {
  it("covers every secret: the database URLs, the bootstrap and metrics tokens, the passphrase and the PIN", () => {
    expect(SETTINGS.filter((s) => s.secret).map(fileEnv)).toEqual([
      "SSE_DATABASE_URL_FILE",
      "SSE_KEYS_DATABASE_URL_FILE",
      "SSE_BOOTSTRAP_TOKEN_FILE",
      "SSE_PASSPHRASE_FILE",
      "SSE_PKCS11_PIN_FILE",
      "SSE_METRICS_TOKEN_FILE",
    ]);
  });

  it("reads the file, without its final line ending", () => {
    const token = "t".repeat(40);
    const cfg = loadConfig({
      SSE_DATABASE_URL_FILE: secretFile("db", "postgres://sse:pw@db:5432/sse\n"),
      SSE_KEYS_DATABASE_URL_FILE: secretFile("keys", "postgres://sse:pw@db:5432/keys\r\n"),
      SSE_BOOTSTRAP_TOKEN_FILE: secretFile("boot", `${token}\n`),
      SSE_METRICS_TOKEN_FILE: secretFile("metrics", "metrics-secret"),
    });
    expect(cfg.databaseUrl).toBe("postgres://sse:pw@db:5432/sse");
    expect(cfg.keysDatabaseUrl).toBe("postgres://sse:pw@db:5432/keys");
    expect(cfg.bootstrapToken).toBe(token);
    expect(cfg.metricsToken).toBe("metrics-secret");
  });

  it("validates what the file holds like the variable, without echoing it", () => {
    const e = configError(() =>
      loadConfig({ SSE_DATABASE_URL_FILE: secretFile("bad", "mysql://u:hunter2@x\n") }),
    );
    expect(e.message).toMatch(/SSE_DATABASE_URL must start with postgres/);
    expect(e.message).not.toContain("hunter2");
  });

  it("refuses both the variable and its file", () => {
    const f = secretFile("both", "postgres://db/sse");
    expect(
      configError(() => loadConfig({ SSE_DATABASE_URL: "postgres://db/sse", SSE_DATABASE_URL_FILE: f }))
        .message,
    ).toBe("set SSE_DATABASE_URL or SSE_DATABASE_URL_FILE, not both");
    expect(
      configError(() =>
        loadConfig({ SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE: "x", SSE_PASSPHRASE_FILE: f }),
      ).message,
    ).toBe("set SSE_PASSPHRASE or SSE_PASSPHRASE_FILE, not both");
  });

  it("a missing, unreadable or empty file is a ConfigError naming the variable and the path", () => {
    const missing = path.join(dir, "absent");
    expect(configError(() => loadConfig({ SSE_METRICS_TOKEN_FILE: missing })).message).toBe(
      `SSE_METRICS_TOKEN_FILE: cannot read ${missing} (ENOENT)`,
    );
    expect(configError(() => loadConfig({ SSE_METRICS_TOKEN_FILE: dir })).message).toBe(
      `SSE_METRICS_TOKEN_FILE: cannot read ${dir} (EISDIR)`,
    );
    const empty = secretFile("empty", "\n");
    expect(configError(() => loadConfig({ SSE_METRICS_TOKEN_FILE: empty })).message).toBe(
      `SSE_METRICS_TOKEN_FILE: ${empty} is empty`,
    );
    if (process.getuid?.() !== 0) {
      const locked = secretFile("locked", "secret");
      chmodSync(locked, 0o000);
      expect(configError(() => loadConfig({ SSE_METRICS_TOKEN_FILE: locked })).message).toMatch(
        /\(EACCES\)$/,
      );
    }
  });

  it("the passphrase and the PIN files stay the providers' to read (out of JavaScript strings)", () => {
    const f = secretFile("pass", "correct horse\n");
    const cfg = loadConfig({ SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE_FILE: f });
    expect(cfg.passphrase).toBeUndefined();
    expect(cfg.passphraseFile).toBe(f);
  });

  it("a flag still wins over the environment, file included", () => {
    const f = secretFile("flagged", "postgres://file/sse");
    expect(loadConfig({ SSE_DATABASE_URL_FILE: f }, { databaseUrl: "postgres://flag/sse" }).databaseUrl).toBe(
      "postgres://flag/sse",
    );
  });
});
