// The Dockerfile and compose.yaml cannot be built here (no Docker engine), so what can be checked
// by reading is checked by a test: paths, stages, scripts, settings, and the docs that name them.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../../src/config.js";
import { ServiceMetrics } from "../../src/http/metrics.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");

interface Stage {
  name: string;
  lines: string[];
}

/** Instructions of the Dockerfile (continuation lines joined), grouped by stage. */
function stages(): Stage[] {
  const text = read("Dockerfile").replace(/\\\n/g, " ");
  const out: Stage[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(/\s+/g, " ");
    if (line === "" || line.startsWith("#")) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[1] ?? `#${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const stage = (name: string) => {
  const s = stages().find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};

describe("Dockerfile", () => {
  it("has the prod and test targets", () => {
    expect(stages().map((s) => s.name)).toEqual(expect.arrayContaining(["prod", "test"]));
  });

  it("copies only paths that exist and that .dockerignore lets through", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const names = stages().map((s) => s.name);
    for (const [i, s] of stages().entries()) {
      for (const line of s.lines.filter((l) => /^COPY\s/i.test(l))) {
        const words = line.split(/\s+/).slice(1);
        const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
        const paths = words.filter((w) => !w.startsWith("--")).slice(0, -1);
        if (from) {
          expect(names.slice(0, i), line).toContain(from);
          continue;
        }
        for (const p of paths) {
          if (p === ".") continue;
          expect(existsSync(path.join(ROOT, p)), `${line}: ${p} exists`).toBe(true);
          expect(ignored, `${line}: ${p} is not ignored`).not.toContain(p);
        }
      }
    }
  });

  it("keeps what must never enter an image out of the build context", () => {
    const ignored = read(".dockerignore");
    for (const p of ["node_modules", "dist", "data", ".git", ".env", "**/root.key", "**/bootstrap-token"])
      expect(ignored).toContain(p);
  });

  it("runs only npm scripts that package.json has", () => {
    const scripts = Object.keys(
      (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts,
    );
    const instructions = stages()
      .flatMap((s) => s.lines)
      .join("\n");
    const used = [...instructions.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const s of used) expect(scripts).toContain(s);
  });

  it("runs the prod image as a non-root user from the build output, with a health check and a data volume", () => {
    const prod = stage("prod").lines;
    const build = JSON.parse(read("tsconfig.build.json")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(build.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    expect(existsSync(path.join(ROOT, "src/main.ts"))).toBe(true);
    expect(prod).toContain('CMD ["node", "--max-semi-space-size=4", "dist/main.js"]');
    // dist/version.js reads ../package.json.
    expect(read("src/version.ts")).toContain('"../package.json"');
    expect(prod).toContain("COPY package.json ./");
    expect(prod.filter((l) => /^USER\s/.test(l)).at(-1)).toMatch(/^USER\s+(?!root\b|0\b)\S+/);
    expect(prod.some((l) => /^HEALTHCHECK .*\/ready/.test(l))).toBe(true);
    expect(prod.some((l) => /^VOLUME\s.*\/data/.test(l))).toBe(true);
    const env = prod.filter((l) => l.startsWith("ENV ")).join(" ");
    for (const v of ["SSE_HOST=0.0.0.0", "SSE_DATA_DIR=/data", "NODE_ENV=production", "MALLOC_ARENA_MAX=2"])
      expect(env).toContain(v);
  });

  it("gives the test image the system packages CI installs", () => {
    const ci = [...read(".ci/run").matchAll(/need_apt\+=\(([\w.-]+)\)/g)].map((m) => m[1]!);
    expect(ci.length).toBeGreaterThan(0);
    const installs = stage("test")
      .lines.filter((l) => /apt-get install/.test(l))
      .join(" ");
    for (const pkg of ci) expect(installs, pkg).toMatch(new RegExp(`\\b${pkg}\\b`));
  });

  it("installs no dev dependencies into the prod image", () => {
    const prodDeps = stage("prod-deps").lines.join("\n");
    expect(prodDeps).toMatch(/npm prune --omit=dev/);
    expect(stage("prod").lines.filter((l) => /node_modules/.test(l))).toEqual([
      "COPY --from=prod-deps /app/node_modules ./node_modules",
    ]);
  });
});

describe("compose.yaml", () => {
  const compose = read("compose.yaml");

  it("builds the prod target", () => {
    expect(compose).toMatch(/target: prod\n/);
  });

  it("sets only settings the server knows", () => {
    const known = new Set(SETTINGS.map((s) => s.env));
    const used = [...compose.matchAll(/^\s+(SSE_[A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(used).toContain("SSE_DATABASE_URL");
    for (const env of used) expect(known, env).toContain(env);
  });

  it("gives the server longer to stop than SSE_SHUTDOWN_TIMEOUT", () => {
    const timeout = Number(/SSE_SHUTDOWN_TIMEOUT: "(\d+)"/.exec(compose)?.[1]);
    const grace = [...compose.matchAll(/stop_grace_period: (\d+)s/g)].map((m) => Number(m[1]));
    expect(Math.max(...grace)).toBeGreaterThan(timeout);
  });
});

describe("docs", () => {
  it("README lists every setting", () => {
    const readme = read("README.md");
    for (const s of SETTINGS) expect(readme, s.env).toContain(`\`${s.env}\``);
  });

  it("docs/OPERATIONS.md explains every metric the server exports", () => {
    const ops = read("docs/OPERATIONS.md");
    const metrics = new ServiceMetrics("0.0.0");
    metrics.observeKeyCache({ hits: 0, misses: 0, size: 0 });
    metrics.observeSpace({
      volume: true,
      current: async () => ({
        writable: true,
        reason: "ok",
        availableBytes: 0,
        reusableBytes: 0,
        reserveBytes: 0,
      }),
    });
    const names = metrics.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith("sse_"));
    expect(names.length).toBeGreaterThan(8);
    for (const n of names) expect(ops, n).toContain(`\`${n}`);
  });
});
