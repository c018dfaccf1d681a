// A comparison server of the bench (the Fastify Map baseline, the seed demo) as a process of its
// own on a free port: started, waited for until GET /health answers, stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort, ROOT } from "../test/helpers/server-process.js";

export interface SpawnedServer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Runs `command(port)` and resolves once it answers /health (at most 30 s), else kills it and throws. */
export async function spawnUntilHealthy(
  name: string,
  command: (port: number) => { file: string; args: string[]; env?: NodeJS.ProcessEnv },
): Promise<SpawnedServer> {
  const port = await freePort();
  const { file, args, env } = command(port);
  const proc = spawn(file, args, {
    cwd: ROOT,
    env: env ?? process.env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = once(proc, "exit");
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${name} not ready after 30 s`);
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
