import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { AppError, IntegrityError } from "../../src/errors.js";
import { DEFAULT_KDF, PassphraseRootKeyProvider } from "../../src/keys/passphrase-provider.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";

const PASSPHRASE = "correct horse battery staple 🐎";
// Most tests use cheap Argon2id parameters; one test opens with the defaults and times it.
const FAST_KDF = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

let dir: string;
const open: RootKeyProvider[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-passphrase-provider-"));
});

afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

function configWith(env: Record<string, string>): Config {
  return loadConfig({ SSE_DATA_DIR: dir, SSE_KEY_PROVIDER: "passphrase", ...env });
}

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: "trace" }, sink), lines };
}

async function openProvider(
  env: Record<string, string> = { SSE_PASSPHRASE: PASSPHRASE },
  logger = pino({ level: "silent" }),
  kdf = FAST_KDF,
): Promise<PassphraseRootKeyProvider> {
  const p = new PassphraseRootKeyProvider({ config: configWith(env), logger }, kdf);
  open.push(p);
  await p.open();
  return p;
}

const key = () => Buffer.from("fedcba9876543210fedcba9876543210");
const ad = Buffer.from("owner=alice;kek=1");
const sealedPath = () => path.join(dir, "root.sealed");

describe("PassphraseRootKeyProvider", () => {
  it("seals a new key ring (mode 0600, KDF parameters recorded, no passphrase inside) and round-trips", async () => {
    const { logger, lines } = capturingLogger();
    const p = await openProvider(undefined, logger);
    expect(p.name).toBe("passphrase");
    expect(statSync(sealedPath()).mode & 0o777).toBe(0o600);
    const text = readFileSync(sealedPath(), "utf8");
    const doc = JSON.parse(text);
    expect(doc.kdf).toMatchObject({
      alg: "argon2id13",
      opslimit: FAST_KDF.opslimit,
      memlimit: FAST_KDF.memlimit,
    });
    expect(Buffer.from(doc.kdf.salt, "base64")).toHaveLength(16);
    const bytes = readFileSync(sealedPath());
    expect(bytes.includes(Buffer.from(PASSPHRASE))).toBe(false);
    expect(text).not.toContain(Buffer.from(PASSPHRASE).toString("base64"));
    expect(lines.join("")).not.toContain(PASSPHRASE);

    const w = await p.wrap(key(), ad);
    expect(await p.unwrap(w, ad)).toEqual(key());
  });

  // Its cost (~0.5 s on the 2-core dev box) is a benchmark figure, not a timed test.
  it("seals with the default Argon2id parameters and reopens with them", async () => {
    const first = await openProvider(undefined, undefined, DEFAULT_KDF);
    const w = await first.wrap(key(), ad);
    await first.close();
    const doc = JSON.parse(readFileSync(sealedPath(), "utf8"));
    expect(doc.kdf.opslimit).toBe(3);
    expect(doc.kdf.memlimit).toBe(256 * 1024 * 1024);
    const again = await openProvider(undefined, undefined, DEFAULT_KDF);
    expect(await again.unwrap(w, ad)).toEqual(key());
    await again.close();
  });

  it("refuses a wrong passphrase with one clear line that holds no secret", async () => {
    const p = await openProvider();
    await p.close();
    const wrong = new PassphraseRootKeyProvider(
      { config: configWith({ SSE_PASSPHRASE: "not the passphrase" }), logger: pino({ level: "silent" }) },
      FAST_KDF,
    );
    const err = await wrong.open().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(`wrong passphrase: cannot unseal ${sealedPath()} (or the file was altered)`);
    expect(err?.message).not.toContain("not the passphrase");
    await expect(wrong.wrap(key(), ad)).rejects.toMatchObject({ code: "key_provider_unavailable" });
  });

  it("refuses a file whose KDF parameters were edited", async () => {
    const p = await openProvider();
    await p.close();
    const doc = JSON.parse(readFileSync(sealedPath(), "utf8"));
    doc.kdf.opslimit = 2;
    writeFileSync(sealedPath(), JSON.stringify(doc), { mode: 0o600 });
    const q = new PassphraseRootKeyProvider(
      { config: configWith({ SSE_PASSPHRASE: PASSPHRASE }), logger: pino({ level: "silent" }) },
      FAST_KDF,
    );
    await expect(q.open()).rejects.toThrow(/^wrong passphrase: cannot unseal /);
  });

  it("reads the first line of SSE_PASSPHRASE_FILE without its line ending", async () => {
    const pwFile = path.join(dir, "passphrase.txt");
    writeFileSync(pwFile, `${PASSPHRASE}\r\nsecond line ignored\n`, { mode: 0o600 });
    const p = await openProvider({ SSE_PASSPHRASE_FILE: pwFile });
    const w = await p.wrap(key(), ad);
    await p.close();
    const q = await openProvider({ SSE_PASSPHRASE: PASSPHRASE });
    expect(await q.unwrap(w, ad)).toEqual(key());
  });

  it("rotate keeps old versions unwrapping across a reopen; retire removes one", async () => {
    const p = await openProvider();
    const w1 = await p.wrap(key(), ad);
    expect(await p.rotate()).toBe(2);
    const w2 = await p.wrap(key(), ad);
    expect(w2.rootVersion).toBe(2);
    expect(await p.unwrap(w1, ad)).toEqual(key());
    await p.close();

    const q = await openProvider();
    expect(q.versions()).toEqual([1, 2]);
    expect(q.primaryVersion()).toBe(2);
    expect(await q.unwrap(w1, ad)).toEqual(key());
    await expect(q.retire(2)).rejects.toBeInstanceOf(AppError);
    await q.retire(1);
    await expect(q.unwrap(w1, ad)).rejects.toBeInstanceOf(IntegrityError);
    expect(statSync(sealedPath()).mode & 0o777).toBe(0o600);
    await q.close();

    const r = await openProvider();
    expect(r.versions()).toEqual([2]);
    expect(await r.unwrap(w2, ad)).toEqual(key());
  });

  it("a second instance picks up a rotation made by the first", async () => {
    const a = await openProvider();
    const b = await openProvider();
    await a.rotate();
    const w2 = await a.wrap(key(), ad);
    expect(await b.unwrap(w2, ad)).toEqual(key());
    expect(await b.rotate()).toBe(3);
    const again = await openProvider();
    expect(again.versions()).toEqual([1, 2, 3]);
  });

  it("AD mismatch and bit flips → IntegrityError", async () => {
    const p = await openProvider();
    const w = await p.wrap(key(), ad);
    await expect(p.unwrap(w, Buffer.from("owner=alice;kek=2"))).rejects.toBeInstanceOf(IntegrityError);
    for (let i = 0; i < w.blob.length * 8; i += 3) {
      const bad = Buffer.from(w.blob);
      bad[i >> 3]! ^= 1 << (i & 7);
      await expect(p.unwrap({ rootVersion: 1, blob: bad }, ad)).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it("refuses a sealed file with a looser mode", async () => {
    const p = await openProvider();
    await p.close();
    const doc = readFileSync(sealedPath());
    rmSync(sealedPath());
    writeFileSync(sealedPath(), doc, { mode: 0o640 });
    const q = new PassphraseRootKeyProvider(
      { config: configWith({ SSE_PASSPHRASE: PASSPHRASE }), logger: pino({ level: "silent" }) },
      FAST_KDF,
    );
    await expect(q.open()).rejects.toThrow(/has mode 0640, looser than 0600/);
  });
});
