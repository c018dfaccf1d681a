import { describe, expect, it } from "vitest";
import { formatLogLine, readableDestination } from "../../src/log-format.js";
import { createLogger, readableLogs } from "../../src/logger.js";
import { startBanner, startRecord } from "../../src/start-banner.js";

const at = new Date(2026, 0, 2, 13, 4, 5, 67).getTime();

describe("readable log lines", () => {
  it("turns a request line into time, level, message, request, status and duration", () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      pid: 1,
      hostname: "h",
      reqId: "r-1",
      req: { method: "GET", path: "/data/x", route: "/data/*", remoteAddress: "127.0.0.1" },
      res: { statusCode: 404 },
      responseTime: 3.125,
      msg: "request completed",
    });
    expect(formatLogLine(line, false)).toBe(
      "13:04:05.067 INFO  request completed GET /data/x 404 3.1ms reqId=r-1",
    );
  });

  it("names levels, quotes values with spaces, prints an error's stack below", () => {
    const err = { type: "Error", message: "disk full", stack: "Error: disk full\n    at write (x.js:1:1)" };
    const out = formatLogLine(
      JSON.stringify({ level: 50, time: at, msg: "write failed", path: "/a b", n: 2, err }),
      false,
    );
    expect(out).toBe(
      '13:04:05.067 ERROR write failed path="/a b" n=2\n    Error: disk full\n        at write (x.js:1:1)',
    );
    expect(formatLogLine(JSON.stringify({ level: 40, time: at, msg: "careful" }), false)).toMatch(
      / WARN {2}careful$/,
    );
  });

  it("colours only when asked, and passes through what is not JSON", () => {
    expect(formatLogLine(JSON.stringify({ level: 30, time: at, msg: "hi" }), true)).toContain(
      "\x1b[32mINFO ",
    );
    expect(formatLogLine(JSON.stringify({ level: 30, time: at, msg: "hi" }), false)).not.toContain("\x1b[");
    expect(formatLogLine("plain text", false)).toBe("plain text");
  });

  it("a pino logger with the readable destination writes readable lines, secrets still censored", () => {
    const written: string[] = [];
    const logger = createLogger(
      { logLevel: "info" },
      readableDestination({ write: (t) => written.push(t) }, false),
    );
    logger.info({ token: "sse_secret", user: "ann" }, "signed in");
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}signed in token=\[redacted\] user=ann\n$/);
  });

  it("is chosen on a terminal outside production, or by SSE_LOG_FORMAT", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(readableLogs({ logLevel: "info", logFormat: "auto", production: false }, tty)).toBe(true);
    expect(readableLogs({ logLevel: "info", logFormat: "auto", production: true }, tty)).toBe(false);
    expect(readableLogs({ logLevel: "info", logFormat: "auto", production: false }, pipe)).toBe(false);
    expect(readableLogs({ logLevel: "info", logFormat: "pretty", production: true }, pipe)).toBe(true);
    expect(readableLogs({ logLevel: "info", logFormat: "json", production: false }, tty)).toBe(false);
  });
});

describe("the start banner", () => {
  const info = {
    version: "1.2.3",
    url: "http://127.0.0.1:8000",
    store: "sqlite" as const,
    dataDir: "/srv/data",
    keyProvider: "file",
    cipher: { name: "aes256gcm", reason: "/proc/cpuinfo lists AES instructions" },
    tokenFile: "/srv/data/bootstrap-token",
  };

  it("says where to go: the API, the console, the docs, the token file, and the cipher of new writes", () => {
    expect(startBanner(info)).toBe(
      [
        "SSE Store 1.2.3 is ready (SQLite in /srv/data, key provider file)",
        "  API          http://127.0.0.1:8000",
        "  Console      http://127.0.0.1:8000/console/",
        "  API docs     http://127.0.0.1:8000/docs",
        "  Admin token  /srv/data/bootstrap-token (the first sign-in)",
        "  Cipher       AES-256-GCM for new writes (/proc/cpuinfo lists AES instructions)",
        "Ctrl-C stops it gracefully.",
        "",
      ].join("\n"),
    );
  });

  it("adds the S3 endpoint when it runs, and never names the database URL", () => {
    const pg = { ...info, store: "postgres" as const, s3Url: "http://127.0.0.1:9000", tokenFile: undefined };
    expect(startBanner(pg)).toContain("  S3        http://127.0.0.1:9000\n");
    expect(startBanner(pg)).toMatch(/^SSE Store 1\.2\.3 is ready \(PostgreSQL, key provider file\)/);
    expect(startBanner(pg)).not.toContain("Admin token");
    expect(startRecord(pg)).toEqual({
      url: "http://127.0.0.1:8000",
      s3Url: "http://127.0.0.1:9000",
      consoleUrl: "http://127.0.0.1:8000/console/",
      docsUrl: "http://127.0.0.1:8000/docs",
      store: "postgres",
      keyProvider: "file",
      cipher: "aes256gcm",
      cipherReason: "/proc/cpuinfo lists AES instructions",
    });
  });
});
