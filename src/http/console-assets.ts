// The web console's files: the TypeScript under console/src bundled by esbuild in memory when the
// server starts (so `npm start` needs no build step), plus the static files beside it. Built once
// per process and kept in memory; each file gets a content hash for its ETag.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

export const CONSOLE_DIR = path.resolve(import.meta.dirname, "../../console");

const STATIC_FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "styles.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

function asset(body: Buffer, type: string): ConsoleAsset {
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

async function buildAssets(dir: string): Promise<Map<string, ConsoleAsset>> {
  const out = new Map<string, ConsoleAsset>();
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
  if (!js) throw new Error("console build produced no output");
  out.set("app.js", asset(Buffer.from(js.contents), "text/javascript; charset=utf-8"));
  for (const [name, type] of Object.entries(STATIC_FILES))
    out.set(name, asset(await readFile(path.join(dir, name)), type));
  return out;
}

const built = new Map<string, Promise<Map<string, ConsoleAsset>>>();

/** The console's files by name (`index.html`, `app.js`, …), built on first use. */
export function loadConsoleAssets(dir: string = CONSOLE_DIR): Promise<Map<string, ConsoleAsset>> {
  let p = built.get(dir);
  if (!p) {
    p = buildAssets(dir);
    // A failed build is not cached: the next start (or test) tries again.
    p.catch(() => built.delete(dir));
    built.set(dir, p);
  }
  return p;
}
