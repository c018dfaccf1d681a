// What a benchmark suite is: a file under bench/suites/ whose default export is a Suite.
// run.ts discovers the files, so adding a figure is adding a file.
import type { BaselineServer } from "./baseline-server.js";
import type { SseServer } from "./sse-server.js";

export interface BenchOptions {
  /** Suites to run (--only); empty = every suite whose defaultOn is true. */
  only: string[];
  /** Object size for the streaming figures, MiB (--size-mib). */
  sizeMib: number;
  /** Seconds each load figure is measured in all (--duration). */
  duration: number;
  /** Seconds of warm-up before the first measured slice against each server (--warmup). */
  warmup: number;
  /** Load runs alternate baseline and server in this many slices of duration/rounds (--rounds). */
  rounds: number;
  /** Concurrent connections of each load run (--connections). */
  connections: number;
  /** Store adapter of the server under test (--store). */
  store: "sqlite" | "postgres";
  /** SSE_DATABASE_URL for --store postgres (from the flag or the environment). */
  databaseUrl: string | undefined;
  /** Directory under which the data dirs and the disk-speed file live (--data-root). */
  dataRoot: string;
  /** The server's SSE_LOG_LEVEL (--server-log-level); "warn" keeps request logs off, like the baseline. */
  serverLogLevel: string;
  /** Settings of every server under test (--server-env), under the suites' own. */
  serverEnv: Record<string, string>;
  /**
   * The server under test: "dist" (default) is the build `npm run build` makes at the bench's start,
   * run as `node dist/main.js` like the Docker image; "source" runs src/main.ts through tsx (--source).
   */
  serverBuild: "dist" | "source";
  /** Write a CPU profile of every SSE server started and print its top frames (--profile). */
  profile: boolean;
  /** Exit 1 when a row fails (--strict). */
  strict: boolean;
  resultsDir: string;
}

export interface Target {
  /** What is compared: the ratio to the baseline, or the figure itself. */
  of: "ratio" | "value";
  op: ">=" | "<=";
  value: number;
}

export interface Row {
  suite: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: { label: string; value: number; unit: string };
  ratio?: number;
  target?: Target;
  /** undefined for an informational row (no target). */
  pass?: boolean;
  /** Cores other processes used while the figure or its baseline was measured (the larger): its noise. */
  otherLoad?: number;
  note?: string;
}

export interface SuiteContext {
  readonly opts: BenchOptions;
  log(message: string): void;
  /** Starts the server under test (src/main.ts) with the run's store, log level and profiling. */
  startSse(label: string, env?: Record<string, string | undefined>): Promise<SseServer>;
  /** Starts bench/baseline-server.ts in its own process. */
  startBaseline(): Promise<BaselineServer>;
  /** Extra numbers for bench/results/latest.json (latencies, CPU, per-phase RSS…). */
  detail(key: string, value: unknown): void;
}

export interface Suite {
  /** Name used by --only. */
  name: string;
  description: string;
  /** Runs without --only; suites needing setup the default machine lacks (pkcs11, postgres) say false. */
  defaultOn: boolean;
  /** Position in the default run (lower first). */
  order: number;
  run(ctx: SuiteContext): Promise<Row[]>;
}

/** A row comparing a figure with a baseline measured in the same run. */
export function ratioRow(r: {
  suite: string;
  figure: string;
  value: number;
  unit: string;
  baseline: { label: string; value: number; unit?: string };
  target?: { op: ">=" | "<="; value: number };
  otherLoad?: number;
  note?: string;
}): Row {
  const ratio = r.baseline.value > 0 ? r.value / r.baseline.value : Number.NaN;
  const target = r.target ? { of: "ratio" as const, ...r.target } : undefined;
  return {
    suite: r.suite,
    figure: r.figure,
    value: r.value,
    unit: r.unit,
    baseline: { label: r.baseline.label, value: r.baseline.value, unit: r.baseline.unit ?? r.unit },
    ratio,
    target,
    pass: target ? meets(ratio, target) : undefined,
    otherLoad: r.otherLoad,
    note: r.note,
  };
}

/** A row whose target is on the figure itself (e.g. a memory ceiling). */
export function valueRow(r: {
  suite: string;
  figure: string;
  value: number;
  unit: string;
  target?: { op: ">=" | "<="; value: number };
  otherLoad?: number;
  note?: string;
}): Row {
  const target = r.target ? { of: "value" as const, ...r.target } : undefined;
  return { ...r, target, pass: target ? meets(r.value, target) : undefined };
}

export function meets(x: number, t: { op: ">=" | "<="; value: number }): boolean {
  if (!Number.isFinite(x)) return false;
  return t.op === ">=" ? x >= t.value : x <= t.value;
}
