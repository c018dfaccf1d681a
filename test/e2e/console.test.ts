// The web console in real headless Chromium against a real server process: sign-in, uploads with
// progress, folders, paging, search, downloads through links, delete, user and token
// administration, key rotation with a live rewrap job, and the security envelope (CSP, local
// assets only, tokens never in a URL). Each test saves a screenshot to test-results/console/.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const CHROMIUM = process.env.SSE_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.log(`SKIPPED: Chromium not installed at ${CHROMIUM} (apt-get install chromium)`);

const SHOTS = path.join(ROOT, "test-results/console");
const MiB = 1024 * 1024;
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let files: string;
/** Every URL the console's pages requested, and every CSP or script error they reported. */
const requested: string[] = [];
const problems: string[] = [];

async function shot(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), animations: "disabled" });
}

async function newPage(viewport: {
  width: number;
  height: number;
}): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  const p = await ctx.newPage();
  p.on("request", (r) => requested.push(r.url()));
  p.on("console", (m) => {
    if (m.type() === "error" && !/the server responded with a status of (4\d\d)/.test(m.text()))
      problems.push(m.text());
  });
  p.on("pageerror", (e) => problems.push(String(e)));
  return { ctx, page: p };
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(`${server.url}/console/`);
  await p.getByLabel("API token").fill(token);
  await p.getByRole("button", { name: "Sign in" }).click();
}

async function api(method: string, p: string, token: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: BodyInit | undefined;
  if (Buffer.isBuffer(body)) payload = new Uint8Array(body);
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  return fetch(server.url + p, { method, headers, body: payload });
}

/** A file of `size` random bytes written in 1 MiB pieces; returns its SHA-256. */
function writeRandomFile(file: string, size: number): string {
  const hash = createHash("sha256");
  const fd = openSync(file, "w");
  try {
    for (let left = size; left > 0; left -= MiB) {
      const chunk = randomBytes(Math.min(MiB, left));
      hash.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const row = (id: string) => page.locator(`tr[data-id="${id}"]`);

let aliceToken = "";
/** Secret access keys the console showed: never in a URL either. */
const accessKeySecrets: string[] = [];

describe.skipIf(!HAVE_CHROMIUM)("web console in Chromium", () => {
  let bigSha = "";
  let bigFile = "";

  beforeAll(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    files = tempDir("sse-console-files-");
    bigFile = path.join(files, "big.bin");
    bigSha = writeRandomFile(bigFile, 50 * MiB);
    server = await startServer({ s3: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    ({ ctx: context, page } = await newPage(LAPTOP));
    // Something to browse: a few objects, a folder, and enough ids under many/ to need two pages.
    await api("PUT", "/data/notes.txt", server.token, Buffer.from("notes"));
    await api("PUT", "/data/photos/2024/beach.jpg", server.token, randomBytes(3000));
    for (let i = 0; i < 120; i++)
      await api("PUT", `/data/many/f${String(i).padStart(3, "0")}`, server.token, Buffer.from(`${i}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it("/ leads to the console, served under a strict CSP with only local assets", async () => {
    const r = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("/console/");
    const html = await fetch(`${server.url}/console/`);
    const csp = html.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const text = await html.text();
    expect(text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(text).not.toMatch(/https?:\/\//);
    await page.goto(`${server.url}/`);
    await page.getByLabel("API token").waitFor();
    expect(new URL(page.url()).pathname).toBe("/console/");
    // The hint names the setting, not a path that is wrong with SSE_DATA_DIR set or in Docker.
    const hint = (await page.locator(".hint").textContent()) ?? "";
    expect(hint).toContain("SSE_DATA_DIR");
    expect(hint).not.toContain("data/bootstrap-token");
    await shot("sign-in-laptop");
  });

  it("shows a clear message for a wrong token and stays signed out", async () => {
    await signIn(page, "sse_0123456789abcdef_notARealTokenAtAllxxxxxxxxxxxxxxxxxxxxxxxxx");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("This token is not valid");
    expect(await page.evaluate(() => sessionStorage.getItem("sse.token"))).toBeNull();
    await shot("sign-in-wrong-token");
  });

  it("signs in with a token kept in session storage, never in a URL", async () => {
    await signIn(page, server.token);
    await page.getByTestId("whoami").getByText("admin", { exact: true }).first().waitFor();
    await row("notes.txt").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("sse.token"))).toBe(server.token);
    expect(page.url()).not.toContain(server.token);
    await expect.poll(() => page.getByRole("link", { name: "Users" }).count()).toBe(1);
    await shot("objects-laptop");
  });

  it("shows folders, navigates into them and back by the breadcrumbs", async () => {
    await page.getByRole("link", { name: "photos/" }).click();
    await page.getByRole("link", { name: "2024/" }).click();
    await row("photos/2024/beach.jpg").waitFor();
    await shot("folder");
    await page.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: "All objects" }).click();
    await row("notes.txt").waitFor();
  });

  it("pages through a folder of 120 objects", async () => {
    await page.goto(`${server.url}/console/#/objects/many/`);
    await row("many/f000").waitFor();
    expect(await page.locator("tr[data-id]").count()).toBe(100);
    await page.getByRole("button", { name: "Next" }).click();
    await row("many/f100").waitFor();
    expect(await page.locator("tr[data-id]").count()).toBe(20);
    await expect.poll(() => page.getByRole("button", { name: "Next" }).isDisabled()).toBe(true);
    await shot("paging");
    await page.getByRole("button", { name: "Previous" }).click();
    await row("many/f099").waitFor();
  });

  it("searches by prefix", async () => {
    await page.goto(`${server.url}/console/#/objects/many/`);
    await row("many/f000").waitFor();
    await page.getByLabel("Search by name prefix").fill("f11");
    await expect.poll(() => page.locator("tr[data-id]").count()).toBe(10);
    expect(await row("many/f119").count()).toBe(1);
    await shot("search");
  });

  it("when the server cannot be reached, says so and counts no rows", async () => {
    await page.goto(`${server.url}/console/#/objects/`);
    await row("notes.txt").waitFor();
    await page.goto(`${server.url}/console/#/objects/many/`);
    await row("many/f000").waitFor();
    expect(await page.getByRole("navigation", { name: "Pages" }).textContent()).toContain("Showing 1–100");
    // The server goes away: every listing request fails at the network level.
    await page.route("**/objects?**", (r) => r.abort("connectionrefused"));
    try {
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.locator(".table-host .notice.error").waitFor();
      expect(await page.locator("tr[data-id]").count()).toBe(0);
      expect(await page.getByRole("navigation", { name: "Pages" }).textContent()).not.toContain("Showing");
      await shot("server-down");
    } finally {
      await page.unroute("**/objects?**");
      // The browser reports each refused request on its console: expected here, and only here.
      for (let i = problems.length - 1; i >= 0; i--)
        if (/net::ERR_CONNECTION_REFUSED/.test(problems[i] ?? "")) problems.splice(i, 1);
    }
    await page.getByRole("button", { name: "Refresh" }).click();
    await row("many/f000").waitFor();
  });

  it("uploads a 50 MB file into a new folder with progress reaching 100%", async () => {
    await page.goto(`${server.url}/console/#/objects/`);
    await row("notes.txt").waitFor();
    await page.getByRole("button", { name: "New folder" }).click();
    await page.getByLabel("Folder name").fill("uploads");
    await page.getByRole("button", { name: "Open folder" }).click();
    await page.getByText("This folder is empty").waitFor();
    // Record every value the progress bar takes.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver((list) => {
        for (const m of list)
          if (m.target instanceof Element) seen.push(m.target.getAttribute("aria-valuenow") ?? "");
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] });
    });
    await page.getByLabel("Choose files to upload").setInputFiles(bigFile);
    const upload = page.locator('.upload[data-name="big.bin"]');
    // attached, not visible: a batch that ends cleanly folds the panel away.
    await upload.getByText("Uploaded").waitFor({ state: "attached", timeout: 60_000 });
    expect(await upload.locator("[role=progressbar]").getAttribute("aria-valuenow")).toBe("100");
    const seen = (
      await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen)
    ).map(Number);
    expect(seen.at(-1)).toBe(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] ?? 0);
    await row("uploads/big.bin").waitFor();
    expect(await row("uploads/big.bin").textContent()).toContain("50 MiB");
    await shot("upload-done");
    const head = await api("HEAD", "/data/uploads/big.bin", server.token);
    expect(head.headers.get("content-length")).toBe(String(50 * MiB));
  });

  it("downloads it through a link, byte for byte, with its name", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page.getByRole("button", { name: "Download uploads/big.bin" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("big.bin");
    expect(download.url()).toMatch(/\/links\//);
    const saved = path.join(files, "downloaded.bin");
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(bigSha);
    await shot("downloaded");
  });

  it("shows an object's metadata and makes a shareable link", async () => {
    await row("uploads/big.bin").getByRole("button", { name: "big.bin", exact: true }).click();
    const drawer = page.getByRole("dialog", { name: "Details of uploads/big.bin" });
    await drawer.waitFor();
    const info = (await (await api("HEAD", "/data/uploads/big.bin", server.token)).headers) as Headers;
    const text = (await drawer.textContent()) ?? "";
    expect(text).toContain(info.get("etag") ?? "missing");
    expect(text).toContain("52,428,800 bytes");
    expect(text).toContain("Key version");
    await drawer.getByRole("button", { name: "Create link" }).click();
    const link = await drawer.getByLabel("download link", { exact: true }).inputValue();
    expect(link).toMatch(/\/links\/[A-Za-z0-9_-]+\/big\.bin$/);
    const res = await fetch(link, { method: "HEAD" });
    expect(res.status).toBe(200);
    await shot("details");
    await drawer.getByRole("button", { name: "Close details" }).click();
  });

  it("uploads by drag and drop, several files at once, and shows a conflict as a conflict", async () => {
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["first file"], "one.txt", { type: "text/plain" }));
      dt.items.add(new File(["second file"], "two words.txt", { type: "text/plain" }));
      dt.items.add(new File(["third file"], "Quarterly Report (final) \u00e9.txt", { type: "text/plain" }));
      const target = document.querySelector(".objects-page") as HTMLElement;
      for (const type of ["dragenter", "dragover", "drop"])
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await row("uploads/one.txt").waitFor();
    // Kept as it is: the console no longer renames files (ids are any UTF-8).
    await row("uploads/two words.txt").waitFor();
    await row("uploads/Quarterly Report (final) \u00e9.txt").waitFor();
    const quarterly = await api(
      "GET",
      `/data/uploads/${encodeURIComponent("Quarterly Report (final) \u00e9.txt")}`,
      server.token,
    );
    expect(await quarterly.text()).toBe("third file");
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["changed"], "one.txt", { type: "text/plain" }));
      const target = document.querySelector(".objects-page") as HTMLElement;
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const conflict = page.locator(".upload.conflict", { hasText: "one.txt" });
    await conflict.getByText("already stored").waitFor();
    // A conflict, not a failed transfer: no red bar at 100%, a badge that says what happened.
    expect(await conflict.getByText("Already exists").isVisible()).toBe(true);
    expect(await conflict.getByRole("progressbar").isVisible()).toBe(false);
    expect(await page.locator(".upload-summary").textContent()).toBe("4 of 5 uploaded · 1 exists");
    // The question is the first thing the panel shows.
    expect(await page.locator(".upload").first().getAttribute("class")).toContain("conflict");
    expect(await page.locator(".upload-panel").getAttribute("class")).not.toContain("collapsed");
    await shot("upload-conflict");
    expect(await (await api("GET", "/data/uploads/one.txt", server.token)).text()).toBe("first file");
  });

  it("keeps the open upload panel clear of the rows' actions", async () => {
    // The panel stays open with its conflict while the user browses a folder of 100 rows.
    await page.goto(`${server.url}/console/#/objects/many/`);
    await row("many/f000").waitFor();
    expect(await page.locator(".upload-panel").isVisible()).toBe(true);
    expect(await page.locator(".upload.conflict").isVisible()).toBe(true);
    // Every action button the viewport shows is what a click at its centre reaches.
    const buttons = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>("tr[data-id] .row-actions button")]
        .map((b) => ({ label: b.getAttribute("aria-label") ?? "", r: b.getBoundingClientRect() }))
        .filter(({ r }) => r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth)
        .map(({ label, r }) => {
          const x = r.left + r.width / 2;
          const y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y);
          return { label, x, y, reaches: hit?.closest("button")?.getAttribute("aria-label") === label };
        }),
    );
    expect(buttons.length).toBeGreaterThan(10);
    expect(buttons.filter((b) => !b.reaches).map((b) => b.label)).toEqual([]);
    // A real click on the lowest row's Download, where the panel used to float, downloads it.
    const last = buttons.filter((b) => b.label.startsWith("Download ")).at(-1)!;
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 30_000 }),
      page.mouse.click(last.x, last.y),
    ]);
    expect(download.suggestedFilename()).toBe(last.label.replace("Download many/", ""));
    await shot("upload-panel-and-rows");
  });

  it("replaces on request; off the Objects pages the finished panel does not linger", async () => {
    await page.goto(`${server.url}/console/#/objects/uploads/`);
    const conflict = page.locator(".upload.conflict", { hasText: "one.txt" });
    await conflict.getByRole("button", { name: "Replace it" }).click();
    await page.locator(".upload.done", { hasText: "one.txt" }).last().waitFor({ state: "attached" });
    await expect
      .poll(async () => (await api("GET", "/data/uploads/one.txt", server.token)).text())
      .toBe("changed");
    // The finished batch folds away into its summary.
    await expect.poll(() => page.locator(".upload-panel.collapsed").count()).toBe(1);
    // big.bin, the three dropped files, and one.txt replaced.
    expect(await page.locator(".upload-summary").textContent()).toBe("5 of 5 uploaded");
    for (const [hash, ready] of [
      ["#/tokens", () => page.getByRole("heading", { name: "API tokens" })],
      ["#/keys", () => page.getByTestId("primary-version")],
      ["#/users", () => page.getByLabel("User name")],
    ] as const) {
      await page.goto(`${server.url}/console/${hash}`);
      await ready().waitFor();
      expect(await page.locator(".upload-panel").isHidden(), hash).toBe(true);
    }
    await page.goto(`${server.url}/console/#/objects/uploads/`);
    await row("uploads/one.txt").waitFor();
    expect(await page.locator(".upload-panel").isVisible()).toBe(true);
    // Hiding it clears it.
    await page.getByRole("button", { name: "Hide uploads" }).click();
    expect(await page.locator(".upload-panel").isHidden()).toBe(true);
    await page.goto(`${server.url}/console/#/objects/`);
    await row("notes.txt").waitFor();
    expect(await page.locator(".upload-panel").isHidden()).toBe(true);
    await page.goto(`${server.url}/console/#/objects/uploads/`);
    await row("uploads/one.txt").waitFor();
  });

  it("renders stored types as text, never as markup", async () => {
    const evil = 'text/html; x="<img src=x id=injected>"';
    await fetch(`${server.url}/data/uploads/evil`, {
      method: "PUT",
      headers: { authorization: `Bearer ${server.token}`, "content-type": evil },
      body: "x",
    });
    await page.getByRole("button", { name: "Refresh" }).click();
    await row("uploads/evil").getByRole("button", { name: "evil", exact: true }).click();
    const drawer = page.getByRole("dialog", { name: "Details of uploads/evil" });
    await expect.poll(async () => (await drawer.textContent()) ?? "").toContain(evil);
    expect(await page.locator("#injected").count()).toBe(0);
    await shot("types-as-text");
    await drawer.getByRole("button", { name: "Close details" }).click();
  });

  it("deletes an object after confirmation", async () => {
    await page.getByRole("button", { name: "Delete uploads/big.bin" }).click();
    const dlg = page.getByRole("dialog", { name: "Delete object?" });
    await dlg.waitFor();
    await shot("delete-confirm");
    await dlg.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => row("uploads/big.bin").count()).toBe(0);
    expect((await api("HEAD", "/data/uploads/big.bin", server.token)).status).toBe(404);
  });

  it("lets the admin create a user and a token, shown once with a copy button", async () => {
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("User name").fill("alice");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.locator('tr[data-user="alice"]').waitFor();
    await shot("users");
    await page.locator('tr[data-user="alice"]').getByRole("link", { name: "Manage" }).click();
    await page.getByLabel("Token label").fill("console test");
    await page.getByRole("button", { name: "Create token" }).click();
    const dlg = page.getByRole("dialog", { name: "Token created" });
    await dlg.waitFor();
    aliceToken = await dlg.getByLabel("new token", { exact: true }).inputValue();
    expect(aliceToken).toMatch(/^sse_/);
    expect(await dlg.getByRole("button", { name: "Copy new token" }).count()).toBe(1);
    await shot("token-created");
    await dlg.getByRole("button", { name: "I have copied it" }).click();
    await page.locator("tr[data-token]", { hasText: "console test" }).waitFor();
    // Shown once: the listing has the id and label, never the secret.
    expect(await page.locator("main").textContent()).not.toContain(aliceToken);
  });

  it("signs out, and the new user sees an empty store and no admin pages", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("sse.token"))).toBeNull();
    await signIn(page, aliceToken);
    await page.getByTestId("whoami").getByText("alice").waitFor();
    await page.getByText("No objects yet").waitFor();
    expect(await page.getByRole("link", { name: "Users" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Root key" }).count()).toBe(0);
    await shot("empty-store");
  });

  it("rotates the user's key and watches the rewrap job finish", async () => {
    for (const id of ["a", "b", "c"]) await api("PUT", `/data/k/${id}`, aliceToken, Buffer.from(id));
    await page.getByRole("link", { name: "Encryption key" }).click();
    await expect.poll(() => page.getByTestId("primary-version").textContent()).toBe("1");
    await page.getByRole("button", { name: "Rotate key" }).click();
    await page.getByRole("dialog", { name: "Rotate key?" }).getByRole("button", { name: "Rotate" }).click();
    await expect.poll(() => page.getByTestId("primary-version").textContent()).toBe("2");
    await page.getByRole("button", { name: "Rewrap objects" }).click();
    const job = page.locator(".job").first();
    await job.getByText("Done").waitFor({ timeout: 30_000 });
    expect(await job.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("100");
    await shot("rewrap-done");
    const key = (await (await api("GET", "/keys", aliceToken)).json()) as {
      versions: { version: number; objects?: number }[];
    };
    expect(key.versions.find((v) => v.version === 2)?.objects).toBe(3);
    await page.getByRole("link", { name: "Jobs" }).click();
    await page.locator(".job").first().getByText("Done").waitFor();
  });

  it("lets the admin rotate the root key and follow the job", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(page, server.token);
    await page.getByRole("link", { name: "Root key" }).click();
    await expect.poll(() => page.getByTestId("root-primary").textContent()).toBe("1");
    await page.getByRole("button", { name: "Rotate root key" }).click();
    await page
      .getByRole("dialog", { name: "Rotate the root key?" })
      .getByRole("button", { name: "Rotate" })
      .click();
    await page.locator(".job").first().getByText("Done").waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId("root-primary").textContent()).toBe("2");
    await shot("root-key-rotated");
  });

  it("shows enrollment, who issued each token, and resets a user with a one-time token", async () => {
    // Signed in as the admin (previous test). alice has used her token: she has enrolled.
    await page.goto(`${server.url}/console/#/users`);
    await page.locator('tr[data-user="alice"]').getByText("enrolled").waitFor();
    await page.locator('tr[data-user="alice"]').getByRole("link", { name: "Manage" }).click();
    const consoleTokenRow = page.locator("tr[data-token]", { hasText: "console test" });
    await consoleTokenRow.waitFor();
    expect(await consoleTokenRow.locator("[data-issued-by]").textContent()).toBe("admin");
    // The admin can no longer issue her tokens: the server says why.
    await page.getByLabel("Token label").fill("too late");
    await page.getByRole("button", { name: "Create token" }).click();
    await page
      .getByText(/enrolled/)
      .first()
      .waitFor();
    await page.getByRole("button", { name: "Reset user alice" }).click();
    const confirm = page.getByRole("dialog", { name: "Reset alice?" });
    await confirm.getByLabel("Type alice to confirm").fill("alice");
    await confirm.getByRole("button", { name: "Reset user" }).click();
    const shown = page.getByRole("dialog", { name: "New token for alice" });
    await shown.waitFor();
    const fresh = await shown.getByLabel("new token", { exact: true }).inputValue();
    expect(fresh).toMatch(/^sse_/);
    await shot("user-reset");
    await shown.getByRole("button", { name: "I have copied it" }).click();
    expect((await api("GET", "/me", aliceToken)).status).toBe(401);
    expect((await api("GET", "/me", fresh)).status).toBe(200);
    await page.locator("tr[data-token]").first().waitFor();
    expect(await page.locator("[data-issued-by]").allTextContents()).toEqual(["admin reset"]);
    aliceToken = fresh;
  });

  it("manages S3 access keys: shown once with copy buttons and the endpoint, listed without the secret, revoked", async () => {
    // Signed in as the admin (previous test): its own keys, on its API tokens page.
    await page.getByRole("link", { name: "API tokens" }).click();
    await page.getByText("No access keys").waitFor();
    await page.getByLabel("Access key label").fill("rclone");
    await page.getByLabel("access key write scope").uncheck();
    await page.getByRole("button", { name: "Create access key" }).click();
    const dlg = page.getByRole("dialog", { name: "Access key created" });
    await dlg.waitFor();
    const id = await dlg.getByLabel("access key id", { exact: true }).inputValue();
    const secret = await dlg.getByLabel("secret access key", { exact: true }).inputValue();
    accessKeySecrets.push(secret);
    expect(id).toMatch(/^SSEK[0-9A-F]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await dlg.getByLabel("S3 endpoint", { exact: true }).inputValue()).toBe(server.s3Url);
    expect(await dlg.getByRole("button", { name: "Copy secret access key" }).count()).toBe(1);
    expect(await dlg.getByRole("button", { name: "Copy access key id" }).count()).toBe(1);
    await shot("access-key-created");
    await dlg.getByRole("button", { name: "I have copied it" }).click();
    const keyRow = page.locator(`tr[data-access-key="${id}"]`);
    await keyRow.waitFor();
    expect(await keyRow.textContent()).toContain("rclone");
    // Shown once: the listing has the id and label, never the secret.
    expect(await page.locator("main").textContent()).not.toContain(secret);
    const listed = await (await api("GET", "/users/admin/access-keys", server.token)).json();
    expect(listed).toEqual([
      expect.objectContaining({ accessKeyId: id, scopes: ["read"], issuedBy: "admin" }),
    ]);
    await keyRow.getByRole("button", { name: `Revoke access key ${id}` }).click();
    await page
      .getByRole("dialog", { name: "Revoke access key?" })
      .getByRole("button", { name: "Revoke" })
      .click();
    await page.getByText("No access keys").waitFor();
    expect(await (await api("GET", "/users/admin/access-keys", server.token)).json()).toEqual([]);

    // On the page of a user who is enrolling: the admin issues its first key there.
    expect((await api("POST", "/users", server.token, { name: "erin", role: "user" })).status).toBe(201);
    await page.goto(`${server.url}/console/#/users/erin`);
    await page.getByText("No access keys").waitFor();
    await page.getByRole("button", { name: "Create access key" }).click();
    const created = page.getByRole("dialog", { name: "Access key created" });
    const erinKey = await created.getByLabel("access key id", { exact: true }).inputValue();
    accessKeySecrets.push(await created.getByLabel("secret access key", { exact: true }).inputValue());
    await created.getByRole("button", { name: "I have copied it" }).click();
    await page.locator(`tr[data-access-key="${erinKey}"] [data-key-issued-by="admin"]`).waitFor();
    await shot("access-keys-user");
  });

  it("revokes a token after confirmation, and one's own token with a warning, which signs out", async () => {
    // Signed in as the admin (previous tests), on its API tokens page.
    await page.getByRole("link", { name: "API tokens" }).click();
    await page.locator("tr[data-token]").first().waitFor();
    const before = await (await api("GET", "/users/admin/tokens", server.token)).json();
    // No scope ticked: the form says so and asks the server nothing.
    await page.getByLabel("read scope", { exact: true }).uncheck();
    await page.getByLabel("write scope", { exact: true }).uncheck();
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByRole("alert").filter({ hasText: "Choose at least one scope." }).waitFor();
    expect(await (await api("GET", "/users/admin/tokens", server.token)).json()).toEqual(before);
    await page.getByLabel("read scope", { exact: true }).check();
    await page.getByLabel("write scope", { exact: true }).check();

    const spare = (await (
      await api("POST", "/users/admin/tokens", server.token, { label: "spare" })
    ).json()) as { id: string; token: string };
    await page.reload();
    const spareRow = page.locator(`tr[data-token="${spare.id}"]`);
    // Named for a screen reader by the token it revokes, as an access key's button is.
    await spareRow.getByRole("button", { name: "Revoke token spare", exact: true }).click();
    const dlg = page.getByRole("dialog", { name: "Revoke token?" });
    expect(await dlg.textContent()).toContain("spare");
    expect(await dlg.getByText("you will be signed out").count()).toBe(0);
    await dlg.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("status").filter({ hasText: "Token revoked" }).waitFor();
    await expect.poll(() => spareRow.count()).toBe(0);
    expect((await api("GET", "/me", spare.token)).status).toBe(401);

    // A second session of the admin revokes the token it is signed in with, from its user page.
    const self = (await (
      await api("POST", "/users/admin/tokens", server.token, { label: "self" })
    ).json()) as { id: string; token: string };
    const other = await newPage(LAPTOP);
    try {
      await signIn(other.page, self.token);
      await other.page.getByTestId("whoami").waitFor();
      await other.page.goto(`${server.url}/console/#/users/admin`);
      const own = other.page.locator(`tr[data-token="${self.id}"]`);
      await own.getByText("this session").waitFor();
      expect(await other.page.locator("tr[data-token]", { hasText: "this session" }).count()).toBe(1);
      await own.getByRole("button", { name: "Revoke" }).click();
      const confirm = other.page.getByRole("dialog", { name: "Revoke token?" });
      await confirm.getByText("This is the token you are signed in with: you will be signed out.").waitFor();
      await confirm.getByRole("button", { name: "Revoke" }).click();
      await other.page.getByText("Your session ended").waitFor();
      await other.page.getByLabel("API token").waitFor();
      expect(await other.page.evaluate(() => sessionStorage.getItem("sse.token"))).toBeNull();
      await shot("own-token-revoked", other.page);
    } finally {
      await other.ctx.close();
    }
    expect((await api("GET", "/me", self.token)).status).toBe(401);
  });

  it("deletes a user after its name is typed, and says when the list cannot be loaded", async () => {
    await page.goto(`${server.url}/console/#/users`);
    const erin = page.locator('tr[data-user="erin"]');
    await erin.waitFor();
    // The admin's own row cannot be deleted.
    const self = page.getByRole("button", { name: "Delete user admin" });
    expect(await self.isDisabled()).toBe(true);
    expect(await self.getAttribute("title")).toBe("You cannot delete yourself");
    await erin.getByRole("button", { name: "Delete user erin" }).click();
    const dlg = page.getByRole("dialog", { name: "Delete user erin?" });
    const confirm = dlg.getByRole("button", { name: "Delete user and data" });
    expect(await confirm.isDisabled()).toBe(true);
    await dlg.getByLabel("Type erin to confirm").fill("erin");
    await confirm.click();
    await page.getByRole("status").filter({ hasText: "Deleted user erin" }).waitFor();
    await expect.poll(() => erin.count()).toBe(0);
    expect((await api("GET", "/users/erin", server.token)).status).toBe(404);

    // The server goes away: the card says so instead of a table.
    await page.route("**/users", (r) => r.abort("connectionrefused"));
    try {
      await page.reload();
      await page.locator(".card .notice.error").getByText("Cannot reach the server").waitFor();
      expect(await page.locator("tr[data-user]").count()).toBe(0);
    } finally {
      await page.unroute("**/users");
      for (let i = problems.length - 1; i >= 0; i--)
        if (/net::ERR_CONNECTION_REFUSED/.test(problems[i] ?? "")) problems.splice(i, 1);
    }
    await page.reload();
    await page.locator('tr[data-user="alice"]').waitFor();
  });

  it("works on a phone screen", async () => {
    const phone = await newPage(PHONE);
    try {
      await signIn(phone.page, server.token);
      await phone.page.locator('tr[data-id="notes.txt"]').waitFor();
      await shot("objects-phone", phone.page);
      await phone.page.getByRole("button", { name: "Menu" }).click();
      await phone.page.getByRole("link", { name: "Users" }).waitFor({ state: "visible" });
      await shot("menu-phone", phone.page);
      await phone.page.getByRole("link", { name: "Users" }).click();
      await phone.page.locator('tr[data-user="alice"]').waitFor();
      await shot("users-phone", phone.page);
      await phone.page.goto(`${server.url}/console/#/keys`);
      await phone.page.getByTestId("primary-version").waitFor();
      await shot("keys-phone", phone.page);
      // A fresh tab lists the jobs the server knows (GET /jobs), not only its own: the admin sees
      // alice's rewrap and its own root-key rotation, newest first, below the lookup form.
      await phone.page.goto(`${server.url}/console/#/jobs`);
      const jobs = phone.page.locator(".jobs-list .job");
      await jobs.first().getByText("Done").waitFor();
      expect(await jobs.first().locator(".job-label").textContent()).toMatch(/^Root-key rotation/);
      expect(await jobs.filter({ hasText: "Rewrap" }).locator(".job-label").textContent()).toContain(
        "by alice",
      );
      const formBox = await phone.page.getByLabel("Job id").boundingBox();
      const listBox = await jobs.first().boundingBox();
      expect(formBox!.y).toBeLessThan(listBox!.y);
      await phone.page.goto(`${server.url}/console/#/objects/`);
      await phone.page.getByRole("button", { name: "notes.txt", exact: true }).click();
      await phone.page.getByRole("dialog", { name: "Details of notes.txt" }).waitFor();
      await shot("details-phone", phone.page);
      // On a phone the uploads panel is a sheet at the bottom; the page scrolls its last row above it.
      await phone.page.goto(`${server.url}/console/#/objects/many/`);
      await phone.page.locator('tr[data-id="many/f000"]').waitFor();
      await phone.page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["from a phone"], "zz-phone.txt", { type: "text/plain" }));
        const target = document.querySelector(".objects-page") as HTMLElement;
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      const sheet = phone.page.locator(".upload-panel.floating");
      await phone.page.locator(".upload.done", { hasText: "zz-phone.txt" }).waitFor({ state: "attached" });
      await expect.poll(() => phone.page.locator(".upload-panel.floating.collapsed").count()).toBe(1);
      await phone.page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const sheetTop = (await sheet.boundingBox())!.y;
      const lastRow = (await phone.page.locator("tr[data-id]").last().boundingBox())!;
      expect(lastRow.y + lastRow.height).toBeLessThanOrEqual(sheetTop);
      await shot("uploads-phone", phone.page);
      await phone.page.getByRole("button", { name: "Hide uploads" }).click();
      // Nothing sticks out sideways.
      const overflow = await phone.page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await phone.ctx.close();
    }
  });

  it("talked only to its own server, never put a token in a URL, and broke no CSP rule", async () => {
    expect(requested.length).toBeGreaterThan(10);
    const origin = new URL(server.url).origin;
    for (const u of requested) {
      expect(new URL(u).origin, u).toBe(origin);
      expect(u).not.toContain(server.token);
      if (aliceToken) expect(u).not.toContain(aliceToken);
      for (const secret of accessKeySecrets) expect(u).not.toContain(secret);
    }
    expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
    expect(problems).toEqual([]);
    await shot("last-page");
    await context.close();
  });
});
