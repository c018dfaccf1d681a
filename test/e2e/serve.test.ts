// `ssestore serve` is the same server process as `node dist/main.js`: flags over the environment,
// JSON logs, metrics, and the graceful SIGTERM.
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, type ServerProcess, startServer } from "../helpers/server-process.js";

let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  server?.cleanup();
});

describe("ssestore serve", () => {
  it("serves, takes flags over the environment, and stops gracefully on SIGTERM", async () => {
    server = await startServer({
      env: { SSE_SHUTDOWN_TIMEOUT: "30" },
      command: {
        file: process.execPath,
        args: [
          path.join(ROOT, "bin/ssestore.js"),
          "serve",
          "--shutdown-timeout",
          "7",
          "--metrics-token",
          "m".repeat(32),
        ],
      },
    });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${"m".repeat(32)}` },
    });
    expect(metrics.status).toBe(200);
    expect((await server.fetch("/data/served", { method: "PUT", body: "x" })).status).toBe(201);
    expect(await server.stop()).toBe(0);
    const out = server.output();
    expect(out).toMatch(/"signal":"SIGTERM","timeoutSeconds":7,/);
    expect(out).toContain("SSE Store stopped");
    expect(out).not.toContain("m".repeat(32));
    for (const line of out.split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  });
});
