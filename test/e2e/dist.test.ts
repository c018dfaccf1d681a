// The production build: `npm run build` output, laid out as the Docker image lays it out
// (package.json, dist/, node_modules/), starts under plain node and serves /ready.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const run = promisify(execFile);
/** Dev dependencies `npm start` and `npm run build` need, and the prod image leaves out. */
const BUILD_TOOLS = ["tsx", "esbuild", "@esbuild", ".bin"];
let app: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  app = tempDir("sse-dist-");
  copyFileSync(path.join(ROOT, "package.json"), path.join(app, "package.json"));
  cpSync(path.join(ROOT, "bin"), path.join(app, "bin"), { recursive: true });
  // node_modules as the prod image has it after `npm prune --omit=dev`, as far as this test needs:
  // without the build tools (tsx, esbuild), which the compiled server must never load.
  mkdirSync(path.join(app, "node_modules"));
  for (const name of readdirSync(path.join(ROOT, "node_modules")))
    if (!BUILD_TOOLS.includes(name))
      symlinkSync(path.join(ROOT, "node_modules", name), path.join(app, "node_modules", name), "dir");
  // The same compiler settings as `npm run build`, written elsewhere so the worktree is untouched.
  await run(
    path.join(ROOT, "node_modules/.bin/tsc"),
    ["-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", path.join(app, "dist")],
    {
      cwd: ROOT,
    },
  );
  // The console step of `npm run build`: the image has dist/console and no console/ sources.
  await run(
    path.join(ROOT, "node_modules/.bin/tsx"),
    [path.join(ROOT, "src/console-build.ts"), path.join(app, "dist/console")],
    { cwd: ROOT },
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  if (app) rmSync(app, { recursive: true, force: true });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => path.join(e.parentPath, e.name));
}

describe("npm run build", () => {
  it("imports only runtime dependencies (the prod image installs no dev dependencies)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
    expect(Object.keys(pkg.dependencies)).not.toContain("esbuild");
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const pkgOf = (spec: string) => {
      const s = spec.replace(/^node:/, "");
      return s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!;
    };
    const used = new Set<string>();
    const onDemand = new Set<string>();
    for (const file of jsFiles(path.join(app, "dist"))) {
      const src = readFileSync(file, "utf8");
      for (const m of src.matchAll(/(?:from\s+|import\s+)["']([^"'./][^"']*)["']/g)) used.add(pkgOf(m[1]!));
      for (const m of src.matchAll(/import\s*\(\s*["']([^"'./][^"']*)["']/g)) onDemand.add(pkgOf(m[1]!));
    }
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((u) => !allowed.has(u))).toEqual([]);
    // Loaded with import() only where the sources are there: esbuild bundles console/ when no
    // build of it is (npm start); the next test runs the build without it.
    expect([...onDemand].filter((u) => !allowed.has(u))).toEqual(["esbuild"]);
  });

  it("runs the AEAD and MD5 threads on their compiled modules, the main thread's own code", async () => {
    /** A module of the build, typed as its source. */
    const built = (file: string) => import(pathToFileURL(path.join(app, "dist", file)).href);
    const { AeadThread } = (await built(
      "crypto/aead-thread.js",
    )) as typeof import("../../src/crypto/aead-thread.js");
    const format = (await built(
      "crypto/segment-format.js",
    )) as typeof import("../../src/crypto/segment-format.js");
    const { Md5Thread } = (await built(
      "objects/md5-thread.js",
    )) as typeof import("../../src/objects/md5-thread.js");
    const errors: unknown[] = [];
    const aead = new AeadThread({ onError: (e) => errors.push(e) });
    const md5 = new Md5Thread({ onError: (e) => errors.push(e) });
    try {
      for (const suite of [format.SUITE_XCHACHA20_POLY1305, format.SUITE_AES256GCM]) {
        const cipher = format.createSegmentCipher(randomBytes(32), {
          formatVersion: format.FORMAT_VERSION,
          suite,
          segmentSize: 1024,
          owner: "u1",
          objectId: "o1",
          writeId: randomBytes(16),
        });
        const plain = randomBytes(3 * 1024 + 100);
        const sealed = [0, 1, 2, 3].map((i) =>
          cipher.seal(i, i === 3, plain.subarray(i * 1024, (i + 1) * 1024)),
        );
        const opened = await aead.open(
          cipher,
          0,
          3,
          sealed.map((b) => Buffer.from(b)),
        );
        expect(opened.take().equals(plain), `suite ${suite}`).toBe(true);
        const tampered = sealed.map((b) => Buffer.from(b));
        tampered[2]![5]! ^= 1;
        await expect(aead.open(cipher, 0, 3, tampered), `suite ${suite}`).rejects.toThrow(
          "segment 2 failed authentication",
        );
        cipher.dispose();
      }
      expect(aead.usable).toBe(true);
      // Larger than the 1 MiB block a stream keeps on its own thread.
      const body = randomBytes(3 * 1024 * 1024 + 7);
      const stream = md5.start();
      await stream.update(body);
      expect((await stream.digest()).equals(createHash("md5").update(body).digest())).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await aead.close();
      await md5.close();
    }
  });

  it("starts with plain node (no tsx) and serves /ready, /metrics and the docs", async () => {
    server = await startServer({
      command: { file: process.execPath, args: [path.join(app, "dist/main.js")], cwd: app },
      // The AEAD thread runs its compiled module from dist/.
      env: { SSE_READ_THREAD: "true" },
    });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe("ready");
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { info: { version: string } };
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(doc.info.version).toBe(pkg.version);
    expect((await fetch(`${server.url}/docs/`)).status).toBe(200);
    const big = randomBytes(3 * 1024 * 1024 + 5);
    const auth = { authorization: `Bearer ${server.token}` };
    const put = await fetch(`${server.url}/data/big`, { method: "PUT", headers: auth, body: big });
    expect(put.status).toBe(201);
    await put.arrayBuffer();
    const back = await fetch(`${server.url}/data/big`, { headers: auth });
    expect(Buffer.from(await back.arrayBuffer()).equals(big)).toBe(true);
    expect(server.output()).not.toContain("(SSE_READ_THREAD) failed");
    // The web console, from dist/console.
    const page = await fetch(`${server.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect((await fetch(`${server.url}/console/app.js`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain(
      `sse_build_info{version="${pkg.version}"} 1`,
    );
    // The image's ssestore command runs the compiled CLI.
    const whoami = await run(process.execPath, [path.join(app, "bin/ssestore.js"), "--json", "whoami"], {
      cwd: app,
      env: {
        ...process.env,
        SSE_URL: server.url,
        SSE_TOKEN: server.token,
        SSE_CONFIG: path.join(app, "none.json"),
      },
    });
    expect(JSON.parse(whoami.stdout)).toMatchObject({ name: "admin" });
    // The image's health check, on the address the settings describe.
    const health = (env: Record<string, string>) =>
      run(process.execPath, [path.join(app, "dist/healthcheck.js")], {
        cwd: app,
        env: { ...process.env, ...env },
      }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? -1,
      );
    expect(await health({ SSE_HOST: "0.0.0.0", SSE_PORT: String(server.port) })).toBe(0);
    const code = await server.stop();
    expect(await health({ SSE_HOST: "127.0.0.1", SSE_PORT: String(server.port) })).toBe(1);
    // An unclean stop says why in the server's log: show it with the failure.
    expect(code, code === 0 ? "" : server.output().slice(-4000)).toBe(0);
  });
});
