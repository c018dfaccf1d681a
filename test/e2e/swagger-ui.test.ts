// Swagger UI at /docs in real headless Chromium: SSE Store's brand (not Fastify's), the Explore bar
// on /openapi.json, each operation once, the token kept across a reload, no CSP error, and a PUT
// sent from the page stored as application/octet-stream.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const CHROMIUM = process.env.SSE_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.log(`SKIPPED: Chromium not installed at ${CHROMIUM} (apt-get install chromium)`);

const SHOTS = path.join(ROOT, "test-results/swagger-ui");

let server: ServerProcess;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const requested: string[] = [];

describe.skipIf(!HAVE_CHROMIUM)("Swagger UI in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("request", (r) => requested.push(r.url()));
    await page.goto(`${server.url}/docs`);
    await page.locator(".opblock").first().waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  it("carries SSE Store's name and mark, not Fastify's", async () => {
    expect(await page.title()).toBe("SSE Store API");
    const brand = page.locator(".topbar a.sse-brand");
    expect(await brand.textContent()).toBe("SSE Store API");
    const logo = await brand.locator("img").getAttribute("src");
    expect(logo).toBe(`${server.url}/docs/static/theme/sse-store.svg`);
    expect((await fetch(logo!)).headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(requested.filter((u) => /logo|favicon-(16|32)/.test(u))).toEqual([]);
    expect(await page.locator("link[rel=icon]").getAttribute("href")).toMatch(/theme\/sse-store\.svg$/);
    await page.screenshot({ path: path.join(SHOTS, "docs.png") });
  });

  it("explores /openapi.json, the document the README names", async () => {
    expect(await page.locator(".download-url-input").inputValue()).toBe(`${server.url}/openapi.json`);
    expect(requested).toContain(`${server.url}/openapi.json`);
    expect(requested).not.toContain(`${server.url}/docs/json`);
  });

  it("lists GET /data once", async () => {
    const getData = page.locator(".opblock-get", {
      has: page.locator(".opblock-summary-path", { hasText: /^\/data$/ }),
    });
    expect(await getData.count()).toBe(1);
  });

  it("keeps the bearer token across a reload", async () => {
    await page.locator(".auth-wrapper button.authorize").click();
    const dialog = page.locator(".auth-container").first();
    await dialog.getByLabel("auth-bearer-value").fill(server.token);
    await dialog.getByRole("button", { name: "Apply credentials" }).click();
    await dialog.getByRole("button", { name: "Close" }).click();
    await page.reload();
    await page.locator(".opblock").first().waitFor();
    const saved = await page.evaluate(() => localStorage.getItem("authorized"));
    expect(saved).toContain(server.token);
    // The lock of the Authorize button shows the token is there, without asking again.
    expect(await page.locator(".auth-wrapper button.authorize.locked").count()).toBe(1);
  });

  it("sends a PUT's body as application/octet-stream, which the object keeps", async () => {
    const file = path.join(tempDir("sse-swagger-"), "blob.bin");
    writeFileSync(file, Buffer.from([0, 1, 2, 3, 254, 255]));
    const put = page.locator(".opblock-put", {
      has: page.locator(".opblock-summary-path", { hasText: /^\/data\/\{id\}$/ }),
    });
    await put.locator(".opblock-summary").click();
    await put.getByRole("button", { name: "Try it out" }).click();
    expect(await put.locator(".body-param-content-type select, .content-type").first().inputValue()).toBe(
      "application/octet-stream",
    );
    await put.getByPlaceholder("id").fill("from-swagger.bin");
    await put.locator("input[type=file]").setInputFiles(file);
    await put.getByRole("button", { name: "Execute" }).click();
    const status = put.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor();
    expect(await status.textContent()).toBe("201");
    const head = await server.fetch("/data/from-swagger.bin", { method: "HEAD" });
    expect(head.headers.get("content-type")).toBe("application/octet-stream");
    expect(head.headers.get("content-length")).toBe("6");
  });

  it("broke no Content-Security-Policy rule and logged no error", () => {
    expect(problems).toEqual([]);
  });
});
