// The Dockerfile and compose.yaml cannot be built here (no Docker engine), so what can be checked
// by reading is checked by a test: paths, stages, scripts, settings, and the docs that name them.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileEnv } from "../../src/config.js";
import { ServiceMetrics } from "../../src/http/metrics.js";
import { SETTINGS } from "../../src/settings.js";

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

  it("keeps what must never enter an image out of the build context: data, keys and secrets", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim());
    for (const p of [
      "node_modules",
      "dist",
      "data",
      ".git",
      ".env",
      ".env.*",
      "secrets",
      "**/root.key",
      "**/root.sealed",
      "**/bootstrap-token",
    ])
      expect(ignored).toContain(p);
    // compose.yaml's secret files live where .dockerignore keeps them out.
    const files = [...read("compose.yaml").matchAll(/^\s+file: \.\/(\S+)$/gm)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f.split("/")[0], f).toBe("secrets");
  });

  it("copies into the test image only what the suite reads, never the whole directory", () => {
    const copies = stage("test").lines.filter((l) => /^COPY\s/i.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) {
      const sources = line
        .split(/\s+/)
        .slice(1)
        .filter((w) => !w.startsWith("--"))
        .slice(0, -1);
      expect(sources, line).not.toContain(".");
      for (const src of sources) expect(src, line).not.toMatch(/^(secrets|\.env|data)(\/|$)/);
    }
  });

  it("pins every base image by digest", () => {
    const text = read("Dockerfile").replace(/\\\n/g, " ");
    const args = new Map([...text.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!] as const));
    const names = stages().map((s) => s.name);
    const froms = [...text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gm)].map((m) => m[1]!);
    const external = froms.filter((f) => !names.includes(f));
    expect(external.length).toBeGreaterThan(0);
    for (const from of external) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? from);
      expect(image, from).toMatch(/^[\w./:-]+@sha256:[0-9a-f]{64}$/);
    }
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
    // The health check asks the address the settings describe (src/healthcheck.ts), not 127.0.0.1.
    const health = prod.filter((l) => /^HEALTHCHECK /.test(l));
    expect(health).toHaveLength(1);
    expect(health[0]).toMatch(/CMD \["node", "dist\/healthcheck\.js"\]$/);
    expect(health[0]).not.toContain("127.0.0.1");
    expect(read("src/healthcheck.ts")).toContain("SSE_HOST");
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

  it("installs no dev dependencies into the prod image, and carries only the build output", () => {
    const prodDeps = stage("prod-deps").lines.join("\n");
    expect(prodDeps).toMatch(/npm prune --omit=dev/);
    expect(stage("prod").lines.filter((l) => /^COPY\s/.test(l))).toEqual([
      "COPY package.json ./",
      "COPY --from=prod-deps /app/node_modules ./node_modules",
      "COPY --from=build /app/dist ./dist",
      "COPY bin ./bin",
    ]);
    // The build tools are dev dependencies: pruned away (npm start and npm run build still have them).
    const pkg = JSON.parse(read("package.json")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const tool of ["tsx", "esbuild", "typescript"]) {
      expect(Object.keys(pkg.dependencies), tool).not.toContain(tool);
      expect(Object.keys(pkg.devDependencies), tool).toContain(tool);
    }
  });
});

describe("compose.yaml", () => {
  const compose = read("compose.yaml");

  /** A service's lines, from its name to the next service or top-level key. */
  const service = (name: string) => {
    const m = new RegExp(`^  ${name}:\\n((?:(?:    .*)?\\n)*)`, "m").exec(compose);
    if (!m) throw new Error(`no service ${name}`);
    return m[1]!;
  };
  /** A top-level key's lines. */
  const section = (name: string) =>
    new RegExp(`^${name}:\\n((?:(?:  .*)?\\n)*)`, "m").exec(compose)?.[1] ?? "";

  it("builds the prod target", () => {
    expect(compose).toMatch(/target: prod\n/);
  });

  it("sets only settings the server knows", () => {
    const known = new Set([...SETTINGS.map((s) => s.env), ...SETTINGS.filter((s) => s.secret).map(fileEnv)]);
    const used = [...compose.matchAll(/^\s+(SSE_[A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(used).toContain("SSE_DATABASE_URL_FILE");
    for (const env of used) expect(known, env).toContain(env);
  });

  it("gives every secret as a file under /run/secrets, never in the environment", () => {
    const secretEnvs = SETTINGS.filter((s) => s.secret).map((s) => s.env);
    const used = [...compose.matchAll(/^\s+([A-Z][A-Z0-9_]+):\s*(.*)$/gm)];
    for (const [, name, value] of used) {
      expect(secretEnvs, `${name} holds a secret in the environment`).not.toContain(name);
      expect(name, "POSTGRES_PASSWORD in the environment").not.toBe("POSTGRES_PASSWORD");
      if (name!.endsWith("_FILE")) expect(value, name).toMatch(/^\/run\/secrets\/\w+$/);
    }
    expect(compose).not.toMatch(/\$\{POSTGRES_PASSWORD/);
    expect(service("postgres")).toMatch(/POSTGRES_PASSWORD_FILE: \/run\/secrets\/postgres_password/);
    // Every file a service is told about is one of its secrets, declared with a file under secrets/.
    for (const name of ["postgres", "sse-store"]) {
      const block = service(name);
      for (const m of block.matchAll(/_FILE: \/run\/secrets\/(\w+)/g)) {
        expect(block, `${name} mounts ${m[1]}`).toMatch(new RegExp(`^      - ${m[1]}$`, "m"));
        expect(section("secrets"), `secret ${m[1]}`).toMatch(
          new RegExp(`^  ${m[1]}:\\n    file: \\./secrets/${m[1]}$`, "m"),
        );
      }
    }
  });

  it("runs both containers read-only, without capabilities they do not need, and without privilege gains", () => {
    for (const name of ["postgres", "sse-store"]) {
      const block = service(name);
      expect(block, name).toMatch(/^ {4}read_only: true$/m);
      expect(block, name).toMatch(/^ {4}tmpfs:\n {6}- \/tmp$/m);
      expect(block, name).toMatch(/^ {4}cap_drop: \[ALL\]$/m);
      expect(block, name).toMatch(/^ {4}security_opt:\n {6}- no-new-privileges:true$/m);
    }
    // The server needs no capability at all; PostgreSQL's entrypoint only what it takes to drop to its user.
    expect(service("sse-store")).not.toMatch(/cap_add/);
    expect(service("postgres")).toMatch(/^ {4}cap_add: \[CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID\]$/m);
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
        backupHoldSeconds: null,
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
