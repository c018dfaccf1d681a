// The console's files: bundled from console/src, written by `npm run build` and served from that
// build when the sources are absent; a server without either still serves the API.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { CONSOLE_SOURCE_DIR, loadConsoleAssets, writeConsoleAssets } from "../../src/http/console-assets.js";
import { CONSOLE_CSP, consoleRoutes } from "../../src/http/console-routes.js";
import { problemPlugin } from "../../src/http/problem.js";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "sse-console-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("console assets", () => {
  it("bundle console/src into one script, with the page, styles and icon beside it", async () => {
    const assets = await loadConsoleAssets(CONSOLE_SOURCE_DIR, temp());
    expect([...assets.keys()].sort()).toEqual(["app.js", "favicon.svg", "index.html", "styles.css"]);
    const html = assets.get("index.html")?.body.toString() ?? "";
    // Only external, same-origin scripts and styles: the CSP allows nothing else.
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|https?:\/\//);
    const js = assets.get("app.js")?.body.toString() ?? "";
    expect(js.length).toBeGreaterThan(1000);
    // Text only: the bundle never parses HTML from strings.
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(assets.get("app.js")?.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
  });

  it("are written by the build and served from it, sources or not", async () => {
    const out = path.join(temp(), "console");
    expect((await writeConsoleAssets(out)).sort()).toEqual([
      "app.js",
      "favicon.svg",
      "index.html",
      "styles.css",
    ]);
    const built = await loadConsoleAssets(path.join(temp(), "no-sources"), out);
    expect(built.get("app.js")?.body.equals(readFileSync(path.join(out, "app.js")))).toBe(true);
    // The compiled server serves its build even where the sources are there too (no esbuild in
    // its memory): a marked copy of the build is what comes back, not a fresh bundle.
    const marked = path.join(temp(), "marked");
    await writeConsoleAssets(marked);
    writeFileSync(path.join(marked, "app.js"), "/* the build */");
    const preferred = await loadConsoleAssets(CONSOLE_SOURCE_DIR, marked);
    expect(preferred.get("app.js")?.body.toString()).toBe("/* the build */");
    await expect(loadConsoleAssets(path.join(temp(), "none"), path.join(temp(), "none"))).rejects.toThrow(
      /no console sources/,
    );
  });

  it("are served under the strict CSP, with 304 for an unchanged file, and a clear 404 when missing", async () => {
    const assets = await loadConsoleAssets();
    const app = Fastify();
    await app.register(problemPlugin);
    await app.register(consoleRoutes, {
      assets,
      settings: { maxObjectBytes: 5, version: "t", s3Port: 9000 },
    });
    const page = await app.inject({ url: "/console/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const js = await app.inject({ url: "/console/app.js" });
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    const again = await app.inject({
      url: "/console/app.js",
      headers: { "if-none-match": String(js.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect((await app.inject({ url: "/console/nope.js" })).statusCode).toBe(404);
    expect((await app.inject({ url: "/console/settings.json" })).json()).toEqual({
      maxObjectBytes: 5,
      version: "t",
      s3Port: 9000,
    });
    expect((await app.inject({ url: "/" })).headers.location).toBe("/console/");
    await app.close();

    const bare = Fastify();
    await bare.register(problemPlugin);
    await bare.register(consoleRoutes, {
      assets: null,
      settings: { maxObjectBytes: 5, version: "t", s3Port: 9000 },
    });
    const missing = await bare.inject({ url: "/console/" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toMatch(/no web console/);
    await bare.close();
  });
});
