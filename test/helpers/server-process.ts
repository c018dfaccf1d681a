// Starts a real server process (by default src/main.ts under tsx) on a free port with its own data dir and
// waits for /ready. Used by every end-to-end test; no sleeps, only readiness polling.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { ADMIN_TOKEN } from "./tokens.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface ServerOptions {
  /** Reuse a data dir (restart tests); default: a fresh temp dir, removed by cleanup(). */
  dataDir?: string;
  env?: Record<string, string | undefined>;
  /** Bootstrap admin token; default: a fixed test token. */
  token?: string;
  /** Wait for /ready (default true). */
  waitReady?: boolean;
  port?: number;
  /** The server command; default: src/main.ts under tsx. */
  command?: { file: string; args: string[]; cwd?: string };
  /**
   * Start the command in a process group of its own, as a terminal or a supervisor does; stop() and
   * kill() then signal the whole group (for a command such as `npm start` whose server is a child).
   */
  detached?: boolean;
  /** Serve the S3 API too, on a free port of its own (else SSE_S3_PORT=0: no S3 listener). */
  s3?: boolean;
}

export interface ServerProcess {
  url: string;
  port: number;
  /** The S3 API's URL and port, when started with `s3`. */
  s3Url: string;
  s3Port: number;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  /** Sends a signal to the process, or to its whole process group when started detached. */
  signal(sig: NodeJS.Signals): void;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Removes the data dir if this harness created it. */
  cleanup(): void;
  /** fetch with the bootstrap token. */
  fetch(p: string, init?: RequestInit): Promise<Response>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = "sse-e2e-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startServer(opts: ServerOptions = {}): Promise<ServerProcess> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? tempDir();
  const port = opts.port ?? (await freePort());
  // Servers of parallel test files must never race for the default S3 port.
  const s3Port = opts.s3 ? await freePort() : 0;
  const token = opts.token ?? ADMIN_TOKEN;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SSE_")) env[k] = v;
  Object.assign(env, {
    SSE_HOST: "127.0.0.1",
    SSE_PORT: String(port),
    SSE_S3_PORT: String(s3Port),
    SSE_DATA_DIR: dataDir,
    SSE_BOOTSTRAP_TOKEN: token,
    SSE_LOG_LEVEL: "info",
    // One process unless a test asks for workers (the default is one per core).
    SSE_WORKERS: "1",
  });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // node itself (tsx as a loader), not the tsx wrapper: signals, SIGKILL included, reach the server.
  const cmd = opts.command ?? {
    file: process.execPath,
    args: ["--import", "tsx", path.join(ROOT, "src/main.ts")],
  };
  const proc = spawn(cmd.file, cmd.args, {
    cwd: cmd.cwd ?? ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: opts.detached === true,
  });
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const signal = (sig: NodeJS.Signals) => {
    if (!opts.detached) {
      proc.kill(sig);
      return;
    }
    try {
      // The group outlives its leader while a member lives: a server that npm left behind is reached too.
      if (proc.pid !== undefined) process.kill(-proc.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    port,
    s3Url: s3Port ? `http://127.0.0.1:${s3Port}` : "",
    s3Port,
    token,
    dataDir,
    proc,
    signal,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) signal("SIGTERM");
      return exited;
    },
    async kill() {
      if (opts.detached || (proc.exitCode === null && proc.signalCode === null)) signal("SIGKILL");
      await exited;
    },
    cleanup() {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
    fetch(p, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
      return fetch(url + p, { ...init, headers });
    },
  };
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${out}`);
      try {
        const r = await fetch(`${url}/ready`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.kill();
        throw new Error(`server not ready after 30 s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return server;
}
