// SSE_CIPHER end to end (docs/FORMAT.md, "Suites"): a server says in its start record which suite
// it seals new writes with, and why; a data directory written under one setting keeps every object
// readable (whole and in ranges) after restarts under the other setting and under auto; a value it
// does not know stops the start with a clear message.
import { rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { KiB, MiB, putObject, randomData } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

const dirs: string[] = [];
const running: ServerProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map((s) => killHard(s)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

async function start(dataDir: string, cipher: string): Promise<ServerProcess> {
  const s = await startServer({ dataDir, env: { SSE_CIPHER: cipher } });
  running.push(s);
  // /ready can answer before the start record has come through the pipe.
  await waitFor("the start record", () => s.output().includes('"msg":"SSE Store listening"'));
  return s;
}

function startRecord(s: ServerProcess): Record<string, unknown> {
  const line = s
    .output()
    .split("\n")
    .find((l) => l.includes('"msg":"SSE Store listening"'));
  if (!line) throw new Error(`no start record in:\n${s.output()}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const SIZES = [0, 1, 64 * KiB, 64 * KiB + 1, 2 * MiB + 3];

async function expectObjects(s: ServerProcess, objects: Map<string, Buffer<ArrayBuffer>>): Promise<void> {
  for (const [id, want] of objects) {
    const res = await s.fetch(`/data/${id}`);
    expect(res.status, id).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(want), `${id}: wrong bytes`).toBe(true);
    if (want.length > 64 * KiB) {
      const start = 64 * KiB - 7;
      const end = Math.min(want.length - 1, start + 100_000);
      const part = await s.fetch(`/data/${id}`, { headers: { range: `bytes=${start}-${end}` } });
      expect(part.status, id).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(want.subarray(start, end + 1)), `${id} range`).toBe(
        true,
      );
    }
  }
}

function suites(dataDir: string): Record<string, number> {
  const db = new Database(path.join(dataDir, "objects.db"), { readonly: true });
  try {
    const rows = db.prepare("SELECT id, suite FROM objects").all() as { id: string; suite: number }[];
    return Object.fromEntries(rows.map((r) => [r.id, r.suite]));
  } finally {
    db.close();
  }
}

describe("SSE_CIPHER", () => {
  it("new writes take the setting's suite; every object stays readable across restarts under any setting", async () => {
    const dataDir = tempDir("sse-e2e-ciphers-");
    dirs.push(dataDir);
    const objects = new Map<string, Buffer<ArrayBuffer>>();

    const first = await start(dataDir, "xchacha20poly1305");
    expect(startRecord(first)).toMatchObject({
      cipher: "xchacha20poly1305",
      cipherReason: "SSE_CIPHER=xchacha20poly1305",
    });
    for (const n of SIZES) {
      const id = `chacha/${n}.bin`;
      objects.set(id, randomData(n));
      expect((await putObject(first, id, objects.get(id)!)).status).toBe(201);
    }
    expect(await first.stop()).toBe(0);

    const second = await start(dataDir, "aes-256-gcm");
    expect(startRecord(second)).toMatchObject({ cipher: "aes256gcm" });
    for (const n of SIZES) {
      const id = `gcm/${n}.bin`;
      objects.set(id, randomData(n));
      expect((await putObject(second, id, objects.get(id)!)).status).toBe(201);
    }
    // Replaced under the new setting: the new write is suite 2.
    objects.set("chacha/1.bin", randomData(70_000));
    expect((await putObject(second, "chacha/1.bin", objects.get("chacha/1.bin")!)).status).toBe(200);
    await expectObjects(second, objects);
    expect(await second.stop()).toBe(0);

    const stored = suites(dataDir);
    for (const n of SIZES) {
      expect(stored[`gcm/${n}.bin`], `gcm/${n}.bin`).toBe(2);
      if (n !== 1) expect(stored[`chacha/${n}.bin`], `chacha/${n}.bin`).toBe(1);
    }
    expect(stored["chacha/1.bin"]).toBe(2);

    for (const cipher of ["xchacha20poly1305", "auto"]) {
      const s = await start(dataDir, cipher);
      const record = startRecord(s);
      expect(["aes256gcm", "xchacha20poly1305"]).toContain(record.cipher);
      expect(String(record.cipherReason).length).toBeGreaterThan(0);
      await expectObjects(s, objects);
      expect(await s.stop()).toBe(0);
    }
  });

  it("an unknown value stops the start, naming the choices", async () => {
    const s = await startServer({ env: { SSE_CIPHER: "aes-128-gcm" }, waitReady: false });
    running.push(s);
    const code = await new Promise<number | null>((resolve) => {
      if (s.proc.exitCode !== null) resolve(s.proc.exitCode);
      else s.proc.once("exit", (c) => resolve(c));
    });
    expect(code).not.toBe(0);
    expect(s.output()).toContain("SSE_CIPHER must be one of auto, aes256gcm, xchacha20poly1305");
    s.cleanup();
  });
});
