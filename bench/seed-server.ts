// The seed demo (bench/seed-server.py: FastAPI + PyNaCl, one uvicorn worker) as a process of its
// own, when Debian's python3-fastapi, python3-uvicorn and python3-nacl are installed.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { freePort, ROOT } from "../test/helpers/server-process.js";

const PYTHON = "/usr/bin/python3";

export interface SeedServer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Why the seed cannot run here, or null when it can. */
export function seedUnavailable(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import fastapi, uvicorn, nacl"], { stdio: "ignore" });
  return r.status === 0 ? null : "the seed needs Debian's python3-fastapi, python3-uvicorn and python3-nacl";
}

export async function startSeed(): Promise<SeedServer> {
  const port = await freePort();
  const proc = spawn(PYTHON, [path.join(ROOT, "bench/seed-server.py"), String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = once(proc, "exit");
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`seed server exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("seed server not ready after 30 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}
