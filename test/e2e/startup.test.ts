// Starting the server as an operator does: a port that is taken fails the start before anything
// is created.
import { readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ServerProcess, startServer, tempDir } from "./harness.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function hold(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : 0 });
    });
  });
}

describe("a busy port", () => {
  it("fails the start before the stores, the root key, the admin or the token file exist", async () => {
    const taken = await hold();
    cleanups.push(() => new Promise<void>((r) => taken.server.close(() => r())));
    const dataDir = tempDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // No SSE_BOOTSTRAP_TOKEN: a first start would write data/bootstrap-token.
    const s: ServerProcess = await startServer({
      dataDir,
      port: taken.port,
      waitReady: false,
      env: { SSE_BOOTSTRAP_TOKEN: undefined },
    });
    cleanups.push(() => s.kill());
    const code = await new Promise<number | null>((resolve) => {
      if (s.proc.exitCode !== null) resolve(s.proc.exitCode);
      else s.proc.once("exit", (c) => resolve(c));
    });
    expect(code).not.toBe(0);
    expect(s.output()).toContain(
      `port ${taken.port} on 127.0.0.1 is already in use by another process (SSE_PORT)`,
    );
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
