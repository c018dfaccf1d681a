import { describe, expect, it } from "vitest";
import { readyUrl } from "../../src/healthcheck.js";

describe("the health check's URL", () => {
  it("follows SSE_HOST and SSE_PORT, with the server's defaults", () => {
    expect(readyUrl({})).toBe("http://127.0.0.1:8000/ready");
    expect(readyUrl({ SSE_HOST: "10.0.0.7", SSE_PORT: "9001" })).toBe("http://10.0.0.7:9001/ready");
    expect(readyUrl({ SSE_HOST: "localhost" })).toBe("http://localhost:8000/ready");
  });

  it("connects to a wildcard address through its loopback", () => {
    expect(readyUrl({ SSE_HOST: "0.0.0.0", SSE_PORT: "8000" })).toBe("http://127.0.0.1:8000/ready");
    expect(readyUrl({ SSE_HOST: "::" })).toBe("http://[::1]:8000/ready");
  });

  it("brackets IPv6 addresses", () => {
    expect(readyUrl({ SSE_HOST: "::1" })).toBe("http://[::1]:8000/ready");
    expect(readyUrl({ SSE_HOST: "[fd00::5]" })).toBe("http://[fd00::5]:8000/ready");
  });
});
