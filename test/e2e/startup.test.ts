// Starting the server as an operator does: what it prints (one JSON record when piped, a banner and
// readable lines on a terminal), and a port that is taken failing the start before anything exists.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { waitFor } from "../helpers/wait-for.js";

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

describe("what the server prints when it starts", () => {
  it("piped (not a terminal): JSON only, and one listening record with every URL", async () => {
    const s = await startServer({ env: { SSE_BOOTSTRAP_TOKEN: undefined } });
    cleanups.push(() => s.cleanup());
    cleanups.push(async () => void (await s.stop()));
    await fetch(`${s.url}/health`);
    await waitFor("the request's log line", () => /request completed/.test(s.output()));
    const records = s
      .output()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });
    const listening = records.filter((r) => /listening/i.test(r.msg));
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({
      msg: "SSE Store listening",
      url: s.url,
      consoleUrl: `${s.url}/console/`,
      docsUrl: `${s.url}/docs`,
      bootstrapTokenFile: path.join(s.dataDir, "bootstrap-token"),
      store: "sqlite",
      keyProvider: "file",
    });
  });

  it("SSE_LOG_FORMAT=pretty: a start banner with the URLs and the token file, then readable lines", async () => {
    const s = await startServer({ env: { SSE_BOOTSTRAP_TOKEN: undefined, SSE_LOG_FORMAT: "pretty" } });
    cleanups.push(() => s.cleanup());
    cleanups.push(async () => void (await s.stop()));
    await fetch(`${s.url}/health`);
    await waitFor("the request's log line", () => /GET \/health 200/.test(s.output()));
    const out = s.output();
    expect(out).toMatch(/^SSE Store \S+ is ready \(SQLite in .*, key provider file\)$/m);
    expect(out).toMatch(new RegExp(`^  API +${s.url}$`, "m"));
    expect(out).toMatch(new RegExp(`^  Console +${s.url}/console/$`, "m"));
    expect(out).toMatch(new RegExp(`^  API docs +${s.url}/docs$`, "m"));
    expect(out).toContain(path.join(s.dataDir, "bootstrap-token"));
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}request completed GET \/health 200 /m);
    expect(out).not.toMatch(/^\{/m);
    expect(out).not.toMatch(/Server listening/);
  });

  // `script` (util-linux) gives the server a real terminal, as `npm start` in a shell has.
  const haveScript = ["/usr/bin/script", "/bin/script"].some(existsSync);
  if (!haveScript) console.log("SKIPPED: the terminal test needs util-linux's script");
  it.skipIf(!haveScript)("on a terminal: readable by default, JSON with NODE_ENV=production", async () => {
    for (const production of [false, true]) {
      const dataDir = tempDir();
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const port = await freePort();
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith("SSE_")) env[k] = v;
      // A colour terminal whatever the machine running the tests has: CI often sets no TERM, and
      // Node's colour check answers "two colours" whenever CI is set, before it looks at TERM.
      for (const k of [
        "NO_COLOR",
        "NODE_DISABLE_COLORS",
        "FORCE_COLOR",
        "CI",
        "TEAMCITY_VERSION",
        "TF_BUILD",
      ])
        delete env[k];
      Object.assign(env, {
        TERM: "xterm-256color",
        SSE_PORT: String(port),
        // Parallel test files must never race for the default S3 port.
        SSE_S3_PORT: String(await freePort()),
        SSE_DATA_DIR: dataDir,
        NODE_ENV: production ? "production" : "development",
      });
      const cmd = `exec ${process.execPath} --import tsx ${path.join(ROOT, "src/main.ts")}`;
      const proc = spawn("script", ["-qfec", cmd, "/dev/null"], {
        cwd: ROOT,
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      proc.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise((r) => proc.once("exit", r));
      cleanups.push(async () => {
        proc.kill("SIGKILL");
        await exited;
      });
      await waitFor("the start message", () => /listening|is ready/.test(out), { timeoutMs: 30_000 });
      if (production) {
        expect(out).toMatch(/^\{"level":30,.*"msg":"SSE Store listening"/m);
        expect(out).not.toContain("is ready");
      } else {
        // Coloured, since the terminal has colours.
        expect(out).toContain("\x1b[33mWARN ");
        const plain = stripVTControlCharacters(out);
        expect(plain).toMatch(/^SSE Store \S+ is ready/m);
        expect(plain).toMatch(/ WARN .*file root key provider is for development only/);
        expect(plain).not.toMatch(/^\{/m);
        // One start record: the S3 listener's own "Server listening" is silenced, no deprecation.
        expect(plain).not.toMatch(/Server listening|Deprecation/);
      }
    }
  });
});
