import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ logLevel: "info" }, sink), lines };
}

const SECRET = "s3cr3t-value-that-must-not-leak";

describe("createLogger", () => {
  it.each([
    "token",
    "secret",
    "password",
    "passphrase",
    "pin",
    "key",
    "authorization",
    "bootstrapToken",
    "metricsToken",
    "databaseUrl",
  ])("censors a field named %s at the top level and one object down", (field) => {
    const { logger, lines } = capture();
    logger.info({ [field]: SECRET }, "top");
    logger.info({ ctx: { [field]: SECRET } }, "nested");
    expect(lines).toHaveLength(2);
    expect(lines.join("")).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!)[field]).toBe("[redacted]");
    expect(JSON.parse(lines[1]!).ctx[field]).toBe("[redacted]");
  });

  it("logs a request as method, path (no query) and route, never its headers", () => {
    const { logger, lines } = capture();
    logger.info(
      {
        req: {
          method: "GET",
          url: `/data/x?sig=${SECRET}`,
          ip: "10.0.0.1",
          routeOptions: { url: "/data/*" },
          headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET },
        },
      },
      "request",
    );
    expect(lines.join("")).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!).req).toEqual({
      method: "GET",
      path: "/data/x",
      route: "/data/*",
      remoteAddress: "10.0.0.1",
    });
  });

  it("keeps raw headers censored if a caller logs them", () => {
    const { logger, lines } = capture();
    logger.info({ headers: { authorization: `Bearer ${SECRET}`, "user-agent": "curl" } }, "headers");
    expect(lines.join("")).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!).headers["user-agent"]).toBe("curl");
  });
});
