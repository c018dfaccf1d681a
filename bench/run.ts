// npm run bench: runs the suites under bench/suites/ (each file one suite, found at start), prints
// one table of figures with their same-run baselines, ratios, targets and PASS/FAIL, and writes
// bench/results/latest.json. Exit 0 unless something crashed; --strict also exits 1 on a FAIL.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type BaselineServer, startBaseline } from "./baseline-server.js";
import { formatProfile } from "./cpu-profile.js";
import { type BenchPostgres, provisionPostgres } from "./postgres.js";
import { type SseServer, startSse } from "./sse-server.js";
import { type BenchOptions, type Row, ratioRow, type Suite, type SuiteContext } from "./suite.js";

const BENCH_DIR = import.meta.dirname;

const USAGE = `usage: npm run bench -- [options]
  --only a,b            suites to run (default: every default suite)
  --size-mib N          object size for the streaming figures (default 1024)
  --duration S          seconds each load figure is measured in all (default 10)
  --warmup S            seconds of warm-up before the first slice against each server (default 3)
  --rounds N            load figures alternate baseline and server in N slices (default 2)
  --connections N       connections of each load run (default 12)
  --store sqlite|postgres   store of the server under test; postgres runs every suite twice, on SQLite
                        and on PostgreSQL, and prints the figures side by side
  --database-url URL    for --store postgres: a server whose role may CREATE DATABASE (default:
                        SSE_DATABASE_URL, else an embedded PostgreSQL 17 under --data-root)
  --data-root DIR       where data dirs and the disk-speed file go (default: the OS temp dir)
  --server-env K=V      a setting of every server under test, repeatable (A/B of settings, e.g.
                        --server-env SSE_READ_THREAD=false); suites' own settings win
  --server-log-level L  SSE_LOG_LEVEL of the server under test (default warn: no request logs, like the baseline)
  --source              run the server under test from src/ through tsx (default: build, then
                        node dist/main.js, as the Docker image runs it)
  --profile             CPU-profile every server under test and print its top frames
  --strict              exit 1 when a figure misses its target
  --list                list the suites and exit`;

function options(argv: string[]): BenchOptions & { list: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      "size-mib": { type: "string", default: "1024" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      rounds: { type: "string", default: "2" },
      connections: { type: "string", default: "12" },
      store: { type: "string", default: "sqlite" },
      "database-url": { type: "string" },
      "data-root": { type: "string" },
      "server-log-level": { type: "string", default: "warn" },
      "server-env": { type: "string", multiple: true, default: [] },
      profile: { type: "boolean", default: false },
      source: { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const store = values.store;
  if (store !== "sqlite" && store !== "postgres") usage("--store must be sqlite or postgres");
  const databaseUrl =
    store === "postgres" ? (values["database-url"] ?? process.env.SSE_DATABASE_URL) : undefined;
  return {
    only: values.only
      ? values.only
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    sizeMib: Math.floor(num("size-mib", values["size-mib"], 1)),
    duration: num("duration", values.duration, 1),
    warmup: num("warmup", values.warmup, 0),
    rounds: Math.floor(num("rounds", values.rounds, 1)),
    connections: Math.floor(num("connections", values.connections, 1)),
    store,
    databaseUrl,
    dataRoot: realpathSync(values["data-root"] ?? os.tmpdir()),
    serverLogLevel: values["server-log-level"],
    serverEnv: Object.fromEntries(
      values["server-env"].map((kv) => {
        const at = kv.indexOf("=");
        if (at < 1) usage("--server-env takes K=V");
        return [kv.slice(0, at), kv.slice(at + 1)];
      }),
    ),
    serverBuild: values.source ? "source" : "dist",
    profile: values.profile,
    strict: values.strict,
    resultsDir: path.join(BENCH_DIR, "results"),
    list: values.list,
  };
}

function serverEnvNote(e: Record<string, string>): string {
  const kv = Object.entries(e).map(([k, v]) => `${k}=${v}`);
  return kv.length ? `, server settings ${kv.join(" ")}` : "";
}

/** `npm run build`, so that the servers under test run what the Docker image runs. */
function buildServer(): void {
  process.stderr.write("[bench] npm run build\n");
  const r = spawnSync("npm", ["run", "build"], {
    cwd: path.join(BENCH_DIR, ".."),
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (r.status !== 0) {
    process.stderr.write("bench: npm run build failed (use --source to run src/ under tsx)\n");
    process.exit(1);
  }
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function discoverSuites(): Promise<Suite[]> {
  const dir = path.join(BENCH_DIR, "suites");
  const files = readdirSync(dir).filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"));
  const suites: Suite[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { default?: Suite };
    if (!mod.default?.name || typeof mod.default.run !== "function")
      throw new Error(`bench/suites/${f} exports no Suite`);
    suites.push(mod.default);
  }
  return suites.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** The mount holding `dir`: the longest mount point that prefixes it. */
function filesystemOf(dir: string): { mount: string; type: string; device: string } {
  let best = { mount: "/", type: "?", device: "?" };
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [device, mount, type] = line.split(" ");
    if (!device || !mount || !type) continue;
    const m = mount.replace(/\\040/g, " ");
    const under = m === "/" || dir === m || dir.startsWith(`${m}/`);
    if (under && m.length >= best.mount.length) best = { mount: m, type, device };
  }
  return best;
}

function environment(o: BenchOptions) {
  const fs = filesystemOf(o.dataRoot);
  const cpus = os.cpus();
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: BENCH_DIR,
      encoding: "utf8",
    }).trim();
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? "?",
    memoryGb: os.totalmem() / 1e9,
    loadAverage: os.loadavg(),
    kernel: os.release(),
    dataRoot: o.dataRoot,
    filesystem: fs,
    store: o.store === "postgres" ? "sqlite and postgres, side by side" : o.store,
    serverLogLevel: o.serverLogLevel,
    serverEnv: o.serverEnv,
    commit,
  };
}

// --- table -------------------------------------------------------------------------------------

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "n/a";
  const digits = unit === "req/s" || x >= 1000 ? 0 : 1;
  return `${x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

function renderTable(rows: Row[]): string {
  const header = ["figure", "value", "baseline", "ratio", "target", "result", "other load"];
  const cells = rows.map((r) => [
    r.figure,
    fmt(r.value, r.unit),
    r.baseline ? `${r.baseline.label} ${fmt(r.baseline.value, r.baseline.unit)}` : "—",
    r.ratio === undefined ? "—" : Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : "n/a",
    r.target
      ? `${r.target.op === ">=" ? "≥" : "≤"} ${r.target.of === "ratio" ? r.target.value.toFixed(2) : fmt(r.target.value, r.unit)}`
      : "—",
    r.pass === undefined ? "info" : r.pass ? "PASS" : "FAIL",
    r.otherLoad === undefined ? "" : `${r.otherLoad.toFixed(2)} cores`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([1, 3, 6]);
  const line = (c: string[]) =>
    c
      .map((s, i) => (right.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const c of cells) out.push(line(c));
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.figure}: ${r.note}`);
  if (notes.length > 0) out.push("", "notes:", ...notes);
  out.push(
    "",
    "other load: CPU that processes other than the bench and its servers used (steal included) while a figure or its",
    "baseline was measured; above ~0.3 cores on this 2-core machine, read the ratio as noisy.",
  );
  return out.join("\n");
}

// --- side by side ------------------------------------------------------------------------------

type Store = BenchOptions["store"];

/**
 * The rows of one suite on SQLite and on PostgreSQL, each figure tagged with its store, the two
 * next to each other, followed by the PostgreSQL figure as a ratio of the SQLite one (information).
 */
function sideBySide(byStore: Map<Store, Row[]>): Row[] {
  const sqlite = byStore.get("sqlite") ?? [];
  const postgres = byStore.get("postgres") ?? [];
  const tag = (r: Row, store: Store): Row => ({ ...r, figure: `${r.figure} [${store}]` });
  const out: Row[] = [];
  const figures = [...new Set([...sqlite, ...postgres].map((r) => r.figure))];
  for (const figure of figures) {
    const s = sqlite.find((r) => r.figure === figure);
    const p = postgres.find((r) => r.figure === figure);
    if (s) out.push(tag(s, "sqlite"));
    if (p) out.push(tag(p, "postgres"));
    if (s && p)
      out.push(
        ratioRow({
          suite: p.suite,
          figure: `${figure}: postgres / sqlite`,
          value: p.value,
          unit: p.unit,
          baseline: { label: "sqlite", value: s.value, unit: s.unit },
          otherLoad: Math.max(s.otherLoad ?? 0, p.otherLoad ?? 0),
        }),
      );
  }
  return out;
}

// --- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const all = await discoverSuites();
  if (opts.list) {
    for (const s of all)
      console.log(`${s.name.padEnd(12)} ${s.defaultOn ? "default " : "opt-in  "} ${s.description}`);
    return 0;
  }
  const unknown = opts.only.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0)
    usage(`unknown suite(s): ${unknown.join(", ")} (known: ${all.map((s) => s.name).join(", ")})`);
  const selected =
    opts.only.length > 0 ? all.filter((s) => opts.only.includes(s.name)) : all.filter((s) => s.defaultOn);

  const env = environment(opts);
  const envLine =
    `node ${env.node}, ${env.cores} cores (${env.cpuModel}), ${env.memoryGb.toFixed(0)} GB RAM, load ${env.loadAverage.map((l) => l.toFixed(2)).join(" ")}; ` +
    `data dir ${env.dataRoot} on ${env.filesystem.type} (${env.filesystem.device} at ${env.filesystem.mount}); ` +
    `store ${env.store}, server log level ${env.serverLogLevel}${serverEnvNote(env.serverEnv)}${env.commit ? `, commit ${env.commit}` : ""}; ` +
    `server under test: ${opts.serverBuild === "dist" ? "node dist/main.js (built now)" : "src/main.ts under tsx"}`;
  console.log(envLine);
  if (opts.serverBuild === "dist") buildServer();
  console.log(`suites: ${selected.map((s) => s.name).join(", ")}`);

  const live = new Set<{ stop(): Promise<unknown> }>();
  const killAll = () => {
    for (const s of live) {
      const proc = "harness" in s ? (s as SseServer).harness.proc : (s as BaselineServer).proc;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    }
  };
  process.once("SIGINT", () => {
    killAll();
    process.exit(130);
  });
  process.once("exit", killAll);

  const details: Record<string, unknown> = {};
  const profileDir = opts.profile ? path.join(opts.resultsDir, "profiles") : undefined;
  // --store postgres: every suite runs on SQLite, then on PostgreSQL, for figures side by side.
  const stores: Store[] = opts.store === "postgres" ? ["sqlite", "postgres"] : ["sqlite"];
  let postgres: BenchPostgres | undefined;
  if (opts.store === "postgres") {
    postgres = await provisionPostgres(opts.databaseUrl, opts.dataRoot);
    console.log(`PostgreSQL: ${postgres.describe}`);
    details.postgres = postgres.describe;
  }
  const contextFor = (store: Store): SuiteContext => ({
    opts: { ...opts, store },
    log: (m) =>
      process.stderr.write(
        `[bench ${new Date().toISOString().slice(11, 19)}${stores.length > 1 ? ` ${store}` : ""}] ${m}\n`,
      ),
    detail: (k, v) => {
      details[stores.length > 1 ? `${k}:${store}` : k] = v;
    },
    async startSse(label, extraEnv) {
      const db = store === "postgres" ? await postgres!.newDatabase() : undefined;
      const fullLabel = stores.length > 1 ? `${label}-${store}` : label;
      let s: SseServer;
      try {
        s = await startSse({
          label: fullLabel,
          dataRoot: opts.dataRoot,
          logLevel: opts.serverLogLevel,
          build: opts.serverBuild,
          databaseUrl: db?.url,
          profileDir,
          env: { ...opts.serverEnv, ...extraEnv },
        });
      } catch (err) {
        await db?.drop();
        throw err;
      }
      live.add(s);
      const stop = s.stop;
      s.stop = async () => {
        live.delete(s);
        try {
          const profile = await stop();
          if (profile) {
            console.log(`\n${formatProfile(fullLabel, profile)}\n`);
            details[`profile:${fullLabel}`] = profile;
          }
          return profile;
        } finally {
          await db?.drop();
        }
      };
      return s;
    },
    async startBaseline() {
      const b = await startBaseline();
      live.add(b);
      const stop = b.stop;
      b.stop = async () => {
        live.delete(b);
        await stop();
      };
      return b;
    },
  });

  const t0 = performance.now();
  const rows: Row[] = [];
  const crashes: { suite: string; error: string }[] = [];
  try {
    for (const suite of selected) {
      const byStore = new Map<Store, Row[]>();
      for (const store of stores) {
        const ctx = contextFor(store);
        ctx.log(`suite ${suite.name}: ${suite.description}`);
        try {
          byStore.set(store, await suite.run(ctx));
        } catch (err) {
          const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
          crashes.push({ suite: stores.length > 1 ? `${suite.name} (${store})` : suite.name, error });
          process.stderr.write(`[bench] suite ${suite.name} crashed on ${store}: ${error}\n`);
        }
      }
      rows.push(...(stores.length > 1 ? sideBySide(byStore) : (byStore.get("sqlite") ?? [])));
    }
  } finally {
    await postgres?.stop();
  }
  const seconds = (performance.now() - t0) / 1000;

  console.log(`\n${envLine}\n`);
  console.log(renderTable(rows));
  const failed = rows.filter((r) => r.pass === false);
  console.log(
    `\n${rows.filter((r) => r.pass === true).length} PASS, ${failed.length} FAIL, ${rows.filter((r) => r.pass === undefined).length} info` +
      `${crashes.length > 0 ? `, ${crashes.length} suite(s) CRASHED (${crashes.map((c) => c.suite).join(", ")})` : ""}; ${seconds.toFixed(0)} s`,
  );

  mkdirSync(opts.resultsDir, { recursive: true });
  const { list: _list, ...recorded } = opts;
  const json = {
    finishedAt: new Date().toISOString(),
    seconds,
    environment: env,
    options: { ...recorded, databaseUrl: recorded.databaseUrl ? "[set]" : undefined },
    rows,
    crashes,
    details,
  };
  const out = path.join(opts.resultsDir, "latest.json");
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${path.relative(process.cwd(), out)}`);

  if (crashes.length > 0) return 1;
  return opts.strict && failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
