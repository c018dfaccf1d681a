// The web console's files. `npm run build` writes them to dist/console/, beside the compiled server,
// which serves them from there (the Docker image has no sources at all). Run from the sources
// (`npm start`, tsx), the server has no such directory beside it and bundles console/src with
// esbuild in memory instead, so that needs no build step. Loading esbuild costs the process about
// 5 MB of memory for good, which the compiled server does not pay. Loaded once per process; each
// file gets a content hash for its ETag.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

/** console/ of the checkout, seen from src/http or dist/http. */
export const CONSOLE_SOURCE_DIR = path.resolve(import.meta.dirname, "../../console");
/** dist/console/, seen from dist/http: the files `npm run build` wrote. */
export const CONSOLE_BUILT_DIR = path.resolve(import.meta.dirname, "../console");

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "styles.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
  "app.js": "text/javascript; charset=utf-8",
};
const STATIC_FILES = ["index.html", "styles.css", "favicon.svg"];

function asset(name: string, body: Buffer): ConsoleAsset {
  const type = TYPES[name] ?? "application/octet-stream";
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

/** Bundles console/src with esbuild (loaded only here: installs without the sources never need it). */
async function fromSource(dir: string): Promise<Map<string, ConsoleAsset>> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [path.join(dir, "src/main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error("the console build produced no output");
  const out = new Map<string, ConsoleAsset>([["app.js", asset("app.js", Buffer.from(js.contents))]]);
  for (const name of STATIC_FILES) out.set(name, asset(name, await readFile(path.join(dir, name))));
  return out;
}

async function fromBuilt(dir: string): Promise<Map<string, ConsoleAsset>> {
  const out = new Map<string, ConsoleAsset>();
  for (const name of Object.keys(TYPES)) out.set(name, asset(name, await readFile(path.join(dir, name))));
  return out;
}

const loaded = new Map<string, Promise<Map<string, ConsoleAsset>>>();

/**
 * The console's files by name (`index.html`, `app.js`, …): the build beside the running code when
 * there is one, else bundled from the sources.
 */
export function loadConsoleAssets(
  sourceDir: string = CONSOLE_SOURCE_DIR,
  builtDir: string = CONSOLE_BUILT_DIR,
): Promise<Map<string, ConsoleAsset>> {
  const key = `${sourceDir}\0${builtDir}`;
  let p = loaded.get(key);
  if (!p) {
    if (existsSync(path.join(builtDir, "app.js"))) p = fromBuilt(builtDir);
    else if (existsSync(path.join(sourceDir, "src/main.ts"))) p = fromSource(sourceDir);
    else p = Promise.reject(new Error(`no console sources in ${sourceDir} and no build in ${builtDir}`));
    // A failure is not cached: the next start (or test) tries again.
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

/** `npm run build`: writes the console's files to `outDir` (dist/console). */
export async function writeConsoleAssets(
  outDir: string,
  sourceDir: string = CONSOLE_SOURCE_DIR,
): Promise<string[]> {
  const assets = await fromSource(sourceDir);
  await mkdir(outDir, { recursive: true });
  for (const [name, a] of assets) await writeFile(path.join(outDir, name), a.body);
  return [...assets.keys()];
}
