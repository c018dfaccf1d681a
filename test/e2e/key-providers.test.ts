// Each root-key provider in a real server process: the file provider says it is for development;
// the passphrase and PKCS#11 providers keep data readable across restarts, and a wrong passphrase
// or PIN stops the server at start with one clear line and a non-zero exit, the secret unlogged.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { createSoftHsmToken, type SoftHsmToken, softhsmAvailable } from "../helpers/softhsm.js";

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string>, waitReady = true): Promise<ServerProcess> {
  const s = await startServer({ dataDir, env, waitReady });
  servers.push(s);
  return s;
}

/** Waits for a server that must refuse to start, and for all it wrote; returns its exit code. */
async function refused(s: ServerProcess): Promise<number | null> {
  const drained = s.proc.stdout?.readableEnded && s.proc.stderr?.readableEnded;
  if (s.proc.exitCode === null || !drained) await new Promise((resolve) => s.proc.once("close", resolve));
  return s.proc.exitCode;
}

/** The one line the process wrote to stderr for the operator. */
function fatalLine(s: ServerProcess): string {
  const lines = s
    .output()
    .split("\n")
    .filter((l) => l.startsWith("sse-store: "));
  expect(lines, s.output()).toHaveLength(1);
  return lines[0]!;
}

async function roundTrip(s: ServerProcess, id: string, body?: string): Promise<string> {
  if (body !== undefined) {
    const put = await s.fetch(`/data/${id}`, { method: "PUT", body });
    expect(put.status).toBeLessThan(300);
  }
  const r = await s.fetch(`/data/${id}`);
  expect(r.status).toBe(200);
  return r.text();
}

describe("file provider", () => {
  it("says in the log at start that it is for development only", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const s = await start(dir, { SSE_KEY_PROVIDER: "file" });
    expect(s.output()).toMatch(/file root key provider is for development only/);
    expect(await roundTrip(s, "x", "hello")).toBe("hello");
  });
});

describe("passphrase provider", () => {
  const passphrase = "correct horse battery staple 1729";

  it("keeps data across restarts; a wrong passphrase refuses to start, clearly, without logging it", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let s = await start(dir, { SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE: passphrase });
    expect(await roundTrip(s, "doc", "sealed under a passphrase")).toBe("sealed under a passphrase");
    expect(await s.stop()).toBe(0);

    // Argon2id parameters beside the sealed key ring; no passphrase anywhere on disk.
    const sealed = JSON.parse(readFileSync(path.join(dir, "root.sealed"), "utf8"));
    expect(sealed.kdf).toMatchObject({
      alg: "argon2id13",
      opslimit: expect.any(Number),
      memlimit: expect.any(Number),
    });
    expect(readFileSync(path.join(dir, "root.sealed"), "utf8")).not.toContain(passphrase);

    const wrong = "correct horse battery stapler";
    s = await start(dir, { SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE: wrong }, false);
    expect(await refused(s)).toBe(1);
    expect(fatalLine(s)).toMatch(/^sse-store: cannot start: wrong passphrase/);
    expect(s.output()).not.toContain(wrong);
    expect(s.output()).not.toContain(passphrase);

    // The right passphrase from a file, as in production.
    const file = path.join(dir, "..", `pass-${path.basename(dir)}`);
    writeFileSync(file, `${passphrase}\n`, { mode: 0o600 });
    dirs.push(file);
    s = await start(dir, { SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE_FILE: file });
    expect(await roundTrip(s, "doc")).toBe("sealed under a passphrase");
    expect(s.output()).not.toContain(passphrase);
  }, 60_000);
});

describe.skipIf(!softhsmAvailable)("pkcs11 provider (SoftHSM2)", () => {
  let token: SoftHsmToken;
  beforeAll(() => {
    token = createSoftHsmToken({ label: "sse-e2e", pin: "246810" });
  });
  afterAll(() => token?.cleanup());

  const env = (pin: string) => ({
    ...token.env,
    SSE_KEY_PROVIDER: "pkcs11",
    SSE_PKCS11_MODULE: token.module,
    SSE_PKCS11_TOKEN_LABEL: token.tokenLabel,
    SSE_PKCS11_PIN: pin,
    SSE_PKCS11_KEY_LABEL: `sse-e2e-${Date.now()}`,
  });

  it("creates its root key in the token, keeps data across restarts, rotates the root; a wrong PIN refuses to start", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const right = env(token.pin);
    let s = await start(dir, right);
    expect(s.output()).toMatch(/PKCS#11 root key provider ready/);
    expect(await roundTrip(s, "hsm", "wrapped inside the token")).toBe("wrapped inside the token");
    expect(await s.stop()).toBe(0);

    const wrongPin = "999999";
    s = await start(dir, { ...right, SSE_PKCS11_PIN: wrongPin }, false);
    expect(await refused(s)).toBe(1);
    expect(fatalLine(s)).toMatch(/^sse-store: cannot start: PKCS#11 login failed: wrong PIN \(not retried\)/);
    expect(s.output()).not.toContain(wrongPin);

    // One rejected attempt did not lock the token: the right PIN (from a file) still opens it.
    const pinFile = path.join(dir, "..", `pin-${path.basename(dir)}`);
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    dirs.push(pinFile);
    const { SSE_PKCS11_PIN: _, ...noPin } = right;
    s = await start(dir, { ...noPin, SSE_PKCS11_PIN_FILE: pinFile });
    expect(await roundTrip(s, "hsm")).toBe("wrapped inside the token");
    expect(s.output()).not.toContain(token.pin);

    const rotate = await s.fetch("/admin/root-key/rotate", { method: "POST" });
    expect(rotate.status).toBe(202);
    const { jobId } = await rotate.json();
    let job: { state: string; result?: unknown };
    for (;;) {
      job = await (await s.fetch(`/jobs/${jobId}`)).json();
      if (job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(job).toMatchObject({ state: "done", result: { rootVersion: 2, retired: [1] } });
    expect(await s.stop()).toBe(0);

    // After a restart the token holds version 2 only, and everything unwraps with it.
    s = await start(dir, right);
    expect(await (await s.fetch("/admin/root-key")).json()).toEqual({
      provider: "pkcs11",
      primaryVersion: 2,
      versions: [2],
    });
    expect(await roundTrip(s, "hsm")).toBe("wrapped inside the token");
  }, 90_000);
});
