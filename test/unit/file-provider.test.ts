import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { AppError, IntegrityError } from "../../src/errors.js";
import { FileRootKeyProvider } from "../../src/keys/file-provider.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

let dir: string;
let config: Config;
const open: RootKeyProvider[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-file-provider-"));
  config = loadConfig({ SSE_DATA_DIR: dir });
});

afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openProvider(logger = pino({ level: "silent" })): Promise<FileRootKeyProvider> {
  const p = new FileRootKeyProvider({ config, logger });
  open.push(p);
  await p.open();
  return p;
}

const key = () => Buffer.from("0123456789abcdef0123456789abcdef");
const ad = Buffer.from("owner=alice;kek=3");

describe("FileRootKeyProvider", () => {
  it("creates root.key with mode 0600 and round-trips a key", async () => {
    const p = await openProvider();
    expect(p.name).toBe("file");
    const file = path.join(dir, "root.key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file, "utf8"));
    expect(doc.format).toBe(1);
    expect(doc.primary).toBe(1);
    expect(doc.versions).toHaveLength(1);
    expect(Buffer.from(doc.versions[0].key, "base64")).toHaveLength(32);

    const w = await p.wrap(key(), ad);
    expect(w.rootVersion).toBe(1);
    expect(w.blob[0]).toBe(1);
    expect(w.blob.readUInt32BE(1)).toBe(1);
    expect(w.blob.includes(key())).toBe(false);
    expect(await p.unwrap(w, ad)).toEqual(key());
    await expect(p.ping()).resolves.toBeUndefined();
  });

  it("logs a development-only warning naming the path, never the key", async () => {
    const { logger, lines } = capturingLogger();
    await openProvider(logger);
    const file = path.join(dir, "root.key");
    const keyB64 = JSON.parse(readFileSync(file, "utf8")).versions[0].key as string;
    const warn = lines.map((l) => JSON.parse(l)).find((l) => l.level === 40);
    expect(warn?.msg).toMatch(/development only/);
    expect(warn?.path).toBe(file);
    expect(lines.join("")).not.toContain(keyB64);
    expect(lines.join("")).not.toContain(Buffer.from(keyB64, "base64").toString("hex"));
  });

  it("reopens the same key: a blob wrapped before still unwraps", async () => {
    const p1 = await openProvider();
    const w = await p1.wrap(key(), ad);
    await p1.close();
    const p2 = await openProvider();
    expect(await p2.unwrap(w, ad)).toEqual(key());
  });

  it("rotate keeps old versions unwrapping; retire removes a non-primary version", async () => {
    const p = await openProvider();
    const w1 = await p.wrap(key(), ad);
    expect(await p.rotate()).toBe(2);
    expect(p.primaryVersion()).toBe(2);
    expect(p.versions()).toEqual([1, 2]);
    const w2 = await p.wrap(key(), ad);
    expect(w2.rootVersion).toBe(2);
    expect(await p.unwrap(w1, ad)).toEqual(key());

    // persisted: a fresh instance sees both versions
    const again = await openProvider();
    expect(again.versions()).toEqual([1, 2]);
    expect(await again.unwrap(w1, ad)).toEqual(key());

    await expect(p.retire(2)).rejects.toBeInstanceOf(AppError);
    await expect(p.retire(7)).rejects.toBeInstanceOf(AppError);
    await p.retire(1);
    expect(p.versions()).toEqual([2]);
    await expect(p.unwrap(w1, ad)).rejects.toBeInstanceOf(IntegrityError);
    expect(await p.unwrap(w2, ad)).toEqual(key());
    expect(statSync(path.join(dir, "root.key")).mode & 0o777).toBe(0o600);

    const third = await openProvider();
    expect(third.versions()).toEqual([2]);
    expect(third.primaryVersion()).toBe(2);
  });

  it("concurrent rotations each get their own version", async () => {
    const p = await openProvider();
    const got = await Promise.all([p.rotate(), p.rotate(), p.rotate()]);
    expect(got.sort()).toEqual([2, 3, 4]);
    const again = await openProvider();
    expect(again.versions()).toEqual([1, 2, 3, 4]);
  });

  it("two instances sharing the data dir see each other's rotations", async () => {
    const a = await openProvider();
    const b = await openProvider();
    expect(await a.rotate()).toBe(2);
    const w2 = await a.wrap(key(), ad);
    expect(await b.unwrap(w2, ad)).toEqual(key());
    expect(b.primaryVersion()).toBe(2);
    expect(await b.rotate()).toBe(3);
    expect(await a.rotate()).toBe(4);
    const again = await openProvider();
    expect(again.versions()).toEqual([1, 2, 3, 4]);
    expect(await again.unwrap(w2, ad)).toEqual(key());
  });

  it("a wrap rereads the store after 30 s, so it uses a primary rotated in elsewhere", async () => {
    const a = await openProvider();
    const b = await openProvider();
    await a.rotate();
    expect((await b.wrap(key(), ad)).rootVersion).toBe(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 31_000);
      expect((await b.wrap(key(), ad)).rootVersion).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("AD mismatch, version mismatch and every bit flip → IntegrityError", async () => {
    const p = await openProvider();
    const w = await p.wrap(key(), ad);
    await expect(p.unwrap(w, Buffer.from("owner=bob;kek=3"))).rejects.toBeInstanceOf(IntegrityError);
    await expect(p.unwrap({ rootVersion: 2, blob: w.blob }, ad)).rejects.toBeInstanceOf(IntegrityError);
    await expect(p.unwrap({ rootVersion: 1, blob: w.blob.subarray(0, 20) }, ad)).rejects.toBeInstanceOf(
      IntegrityError,
    );
    for (let i = 0; i < w.blob.length * 8; i++) {
      const bad = Buffer.from(w.blob);
      bad[i >> 3]! ^= 1 << (i & 7);
      await expect(p.unwrap({ rootVersion: 1, blob: bad }, ad)).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it("refuses a root.key with a looser mode, or unparsable, with one clear line", async () => {
    const p = await openProvider();
    await p.close();
    const file = path.join(dir, "root.key");
    chmodSync(file, 0o644);
    const loose = new FileRootKeyProvider({ config, logger: pino({ level: "silent" }) });
    await expect(loose.open()).rejects.toThrow(/^\S*root\.key has mode 0644, looser than 0600[^\n]*$/);

    writeFileSync(file, "{not json", { mode: 0o600 });
    chmodSync(file, 0o600);
    const broken = new FileRootKeyProvider({ config, logger: pino({ level: "silent" }) });
    await expect(broken.open()).rejects.toThrow(/^root key file \S+ is not valid: not JSON$/);
  });

  it("rejects calls before open with KeyProviderError", async () => {
    const p = new FileRootKeyProvider({ config, logger: pino({ level: "silent" }) });
    await expect(p.wrap(key(), ad)).rejects.toMatchObject({ code: "key_provider_unavailable" });
    await expect(p.ping()).rejects.toMatchObject({ code: "key_provider_unavailable" });
  });

  it("createRootKeyProvider picks the provider named by the config", () => {
    const logger = pino({ level: "silent" });
    const make = (env: Record<string, string>) =>
      createRootKeyProvider({ config: loadConfig({ SSE_DATA_DIR: dir, ...env }), logger }).name;
    expect(make({})).toBe("file");
    expect(make({ SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE: "x" })).toBe("passphrase");
    expect(
      make({
        SSE_KEY_PROVIDER: "pkcs11",
        SSE_PKCS11_MODULE: "/nonexistent.so",
        SSE_PKCS11_TOKEN_LABEL: "t",
        SSE_PKCS11_PIN: "1",
      }),
    ).toBe("pkcs11");
  });
});
