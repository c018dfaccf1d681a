// The seed demo (bench/seed-server.py: FastAPI + PyNaCl, one uvicorn worker) as a process of its
// own, when Debian's python3-fastapi, python3-uvicorn and python3-nacl are installed.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "../test/helpers/server-process.js";
import { type SpawnedServer, spawnUntilHealthy } from "./spawned-server.js";

const PYTHON = "/usr/bin/python3";

export type SeedServer = SpawnedServer;

/** Why the seed cannot run here, or null when it can. */
export function seedUnavailable(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import fastapi, uvicorn, nacl"], { stdio: "ignore" });
  return r.status === 0 ? null : "the seed needs Debian's python3-fastapi, python3-uvicorn and python3-nacl";
}

export function startSeed(): Promise<SeedServer> {
  return spawnUntilHealthy("seed server", (port) => ({
    file: PYTHON,
    args: [path.join(ROOT, "bench/seed-server.py"), String(port)],
  }));
}
