import { describe, expect, it } from "vitest";
import { loggablePath } from "../../src/http/redact-path.js";

const unmatched = (url: string) => loggablePath({ url });

describe("loggable paths", () => {
  it("shows a secret route's pattern, never what the client spelled", () => {
    const link = { url: "", routeOptions: { url: "/links/*", config: { redactPath: true } } };
    for (const url of ["/links/tok/report.pdf", "/%6cinks/tok/x", "/l%69nks/tok?x=1"])
      expect(loggablePath({ ...link, url })).toBe("/links/[redacted]");
    expect(
      loggablePath({ url: "/u/bob", routeOptions: { url: "/u/:name", config: { redactPath: true } } }),
    ).toBe("/u/[redacted]");
  });

  it("drops the query of any request", () => {
    expect(loggablePath({ url: "/data/a/b?x=secret", routeOptions: { url: "/data/*", config: {} } })).toBe(
      "/data/a/b",
    );
    expect(unmatched("/nowhere?token=secret")).toBe("/nowhere");
  });

  it("cuts any other path after a segment that decodes to links, in any spelling", () => {
    expect(unmatched("/links/AQAAAAF-token/report.pdf")).toBe("/links/[redacted]");
    expect(unmatched("//links/tok")).toBe("//links/[redacted]");
    expect(unmatched("/LINKS%2Ftok")).toBe("/links/[redacted]");
    expect(unmatched("/%6C%49%4e%4b%53/tok")).toBe("/links/[redacted]");
    expect(unmatched("/%256cinks/tok")).toBe("/links/[redacted]");
    expect(unmatched("/a/b/links/tok")).toBe("/a/b/links/[redacted]");
    expect(unmatched("/links;v=1/tok")).toBe("/links/[redacted]");
    expect(unmatched("/l%69nks%zz/tok")).toBe("/links/[redacted]");
    expect(unmatched("/links.json")).toBe("/links/[redacted]");
    expect(unmatched("/linksx/tok")).toBe("/linksx/tok");
    expect(unmatched("/data/a%20b")).toBe("/data/a%20b");
  });
});
