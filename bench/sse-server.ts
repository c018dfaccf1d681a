// The server under test: src/main.ts started through the e2e harness, plus what the bench needs on
// top (the serving pid for RSS and CPU, and an optional CPU profile written when it stops).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { ROOT, type ServerProcess, startServer } from "../test/helpers/server-process.js";
import { type ProfileSummary, summarizeProfile } from "./cpu-profile.js";
import { servingPid } from "./rss.js";

const PROFILE_PRELOAD = path.join(import.meta.dirname, "cpu-profile-preload.mjs");

export interface SseServer {
  url: string;
  token: string;
  dataDir: string;
  /** The node process that serves (below tsx's wrapper). */
  pid: number;
  harness: ServerProcess;
  /** Stops the server, removes its data dir and, when profiling, summarizes the profile. */
  stop(): Promise<ProfileSummary | undefined>;
}

export interface SseStartOptions {
  label: string;
  dataRoot: string;
  logLevel: string;
  /** dist: `node --max-semi-space-size=4 dist/main.js` (built beforehand); source: src/main.ts through tsx. */
  build: "dist" | "source";
  databaseUrl?: string;
  profileDir?: string;
  env?: Record<string, string | undefined>;
}

export async function startSse(o: SseStartOptions): Promise<SseServer> {
  const dataDir = mkdtempSync(path.join(o.dataRoot, "sse-bench-"));
  // One process unless a suite or --server-env asks for workers: the figures and their RSS are
  // one server process's, as the targets are written (issue 19's worker rows set their own).
  const env: Record<string, string | undefined> = { SSE_LOG_LEVEL: o.logLevel, SSE_WORKERS: "1" };
  if (o.databaseUrl) env.SSE_DATABASE_URL = o.databaseUrl;
  let profileDir: string | undefined;
  if (o.profileDir) {
    profileDir = path.join(o.profileDir, o.label);
    mkdirSync(profileDir, { recursive: true });
    // Node 20 refuses --cpu-prof in NODE_OPTIONS; a preloaded module drives the profiler instead.
    env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--import=${PROFILE_PRELOAD}`].filter(Boolean).join(" ");
    env.BENCH_CPU_PROFILE_DIR = profileDir;
    env.BENCH_CPU_PROFILE_MAIN = o.build === "dist" ? "dist/main.js" : "src/main.ts";
  }
  // As the Docker image sets it (Dockerfile, prod stage).
  env.MALLOC_ARENA_MAX = "2";
  Object.assign(env, o.env);
  const since = Date.now();
  const harness = await startServer({
    dataDir,
    env,
    // The Docker image's command (Dockerfile, prod stage), flags included.
    command:
      o.build === "dist"
        ? { file: process.execPath, args: ["--max-semi-space-size=4", path.join(ROOT, "dist/main.js")] }
        : undefined,
  });
  return {
    url: harness.url,
    token: harness.token,
    dataDir,
    pid: servingPid(harness.proc.pid!),
    harness,
    async stop() {
      try {
        const code = await harness.stop();
        if (code !== 0)
          process.stderr.write(`[bench] ${o.label}: server exited with ${code}\n${tail(harness.output())}`);
      } finally {
        harness.cleanup();
        // The harness only removes dirs it created; this one is ours.
        rmSync(dataDir, { recursive: true, force: true });
      }
      if (!profileDir) return undefined;
      // One profile per server process; the largest written since start, should there be more.
      const written = readdirSync(profileDir)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => path.join(profileDir, f))
        .filter((f) => statSync(f).mtimeMs >= since)
        .sort((a, b) => statSync(b).size - statSync(a).size);
      return written[0] ? summarizeProfile(written[0]) : undefined;
    },
  };
}

function tail(s: string, lines = 20): string {
  return `${s.trimEnd().split("\n").slice(-lines).join("\n")}\n`;
}
