import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import pkcs11js from "pkcs11js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { AppError, IntegrityError } from "../../src/errors.js";
import { Pkcs11RootKeyProvider } from "../../src/keys/pkcs11-provider.js";
import { createSoftHsmToken, type SoftHsmToken, softhsmAvailable } from "../helpers/softhsm.js";

if (!softhsmAvailable)
  console.warn("SKIPPED: SoftHSM2 not installed (apt-get install softhsm2) — PKCS#11 tests did not run");

const key = () => Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");
const ad = Buffer.from("owner=alice;kek=1");

describe.skipIf(!softhsmAvailable)("Pkcs11RootKeyProvider (SoftHSM2)", () => {
  let token: SoftHsmToken;
  let tmp: string;
  let labelSeq = 0;
  const open: Pkcs11RootKeyProvider[] = [];

  beforeAll(() => {
    token = createSoftHsmToken({ label: "sse-pkcs11-test", pin: "87654321" });
    tmp = mkdtempSync(path.join(os.tmpdir(), "sse-pkcs11-"));
  });

  afterAll(() => {
    token?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });

  function config(env: Record<string, string> = {}): Config {
    return loadConfig({
      SSE_DATA_DIR: tmp,
      SSE_KEY_PROVIDER: "pkcs11",
      SSE_PKCS11_MODULE: token.module,
      SSE_PKCS11_TOKEN_LABEL: token.tokenLabel,
      SSE_PKCS11_PIN: token.pin,
      ...env,
    });
  }

  function provider(cfg: Config, logger = pino({ level: "silent" })): Pkcs11RootKeyProvider {
    const p = new Pkcs11RootKeyProvider({ config: cfg, logger });
    open.push(p);
    return p;
  }

  /** A fresh key label per test, so each test starts with no root key on the shared token. */
  const freshLabel = () => `sse-root-t${++labelSeq}`;

  it("creates -v1 on first open; a reopen finds it and unwraps an old blob", async () => {
    const cfg = config({ SSE_PKCS11_KEY_LABEL: freshLabel() });
    const p1 = provider(cfg);
    await p1.open();
    expect(p1.name).toBe("pkcs11");
    expect(p1.versions()).toEqual([1]);
    const w = await p1.wrap(key(), ad);
    expect(w.rootVersion).toBe(1);
    expect(w.blob.readUInt32BE(1)).toBe(1);
    expect(w.blob.length).toBe(5 + 12 + 32 + 16);
    expect(await p1.unwrap(w, ad)).toEqual(key());
    await p1.close();

    const p2 = provider(cfg);
    await p2.open();
    expect(p2.versions()).toEqual([1]);
    expect(await p2.unwrap(w, ad)).toEqual(key());
    await expect(p2.ping()).resolves.toBeUndefined();
  });

  it("finds the slot by id as well as by token label", async () => {
    const lib = new pkcs11js.PKCS11();
    lib.load(token.module);
    lib.C_Initialize();
    let id: number | undefined;
    try {
      for (const slot of lib.C_GetSlotList(true))
        if (lib.C_GetTokenInfo(slot).label.trimEnd() === token.tokenLabel)
          id = Number(slot.readBigUInt64LE(0));
    } finally {
      lib.C_Finalize();
      lib.close();
    }
    expect(id).toBeDefined();
    const p = provider(
      loadConfig({
        SSE_DATA_DIR: tmp,
        SSE_KEY_PROVIDER: "pkcs11",
        SSE_PKCS11_MODULE: token.module,
        SSE_PKCS11_SLOT: String(id),
        SSE_PKCS11_PIN: token.pin,
        SSE_PKCS11_KEY_LABEL: freshLabel(),
      }),
    );
    await p.open();
    expect(p.versions()).toEqual([1]);
  });

  it("rotate creates -v2 and keeps -v1 unwrapping; retire destroys it", async () => {
    const label = freshLabel();
    const cfg = config({ SSE_PKCS11_KEY_LABEL: label });
    const p = provider(cfg);
    await p.open();
    const w1 = await p.wrap(key(), ad);
    expect(await p.rotate()).toBe(2);
    expect(p.primaryVersion()).toBe(2);
    expect(p.versions()).toEqual([1, 2]);
    const w2 = await p.wrap(key(), ad);
    expect(w2.rootVersion).toBe(2);
    expect(await p.unwrap(w1, ad)).toEqual(key());

    await expect(p.retire(2)).rejects.toBeInstanceOf(AppError);
    await expect(p.retire(9)).rejects.toBeInstanceOf(AppError);
    await p.retire(1);
    expect(p.versions()).toEqual([2]);
    await expect(p.unwrap(w1, ad)).rejects.toBeInstanceOf(IntegrityError);
    expect(await p.unwrap(w2, ad)).toEqual(key());
    await p.close();

    const again = provider(cfg);
    await again.open();
    expect(again.versions()).toEqual([2]);
    expect(await again.unwrap(w2, ad)).toEqual(key());
  });

  it("a version rotated in by another instance is found on first use", async () => {
    const cfg = config({ SSE_PKCS11_KEY_LABEL: freshLabel() });
    const a = provider(cfg);
    const b = provider(cfg);
    await a.open();
    await b.open();
    await a.rotate();
    const w = await a.wrap(key(), ad);
    expect(await b.unwrap(w, ad)).toEqual(key());
    expect(b.primaryVersion()).toBe(2);
  });

  it("refuses a wrong PIN with one line, does not retry, and leaves the token usable", async () => {
    const label = freshLabel();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const wrong = provider(config({ SSE_PKCS11_PIN: "00000000", SSE_PKCS11_KEY_LABEL: label }), pino(sink));
    const err = await wrong.open().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe("PKCS#11 login failed: wrong PIN (not retried)");
    expect(lines.join("")).not.toContain("00000000");
    await expect(wrong.wrap(key(), ad)).rejects.toMatchObject({ code: "key_provider_unavailable" });

    // PIN from a file, first line only: the right PIN still logs in (the token is not locked).
    const pinFile = path.join(tmp, "pin");
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const right = provider(
      loadConfig({
        SSE_DATA_DIR: tmp,
        SSE_KEY_PROVIDER: "pkcs11",
        SSE_PKCS11_MODULE: token.module,
        SSE_PKCS11_TOKEN_LABEL: token.tokenLabel,
        SSE_PKCS11_PIN_FILE: pinFile,
        SSE_PKCS11_KEY_LABEL: label,
      }),
      pino(sink),
    );
    await right.open();
    expect(right.versions()).toEqual([1]);
    expect(lines.join("")).not.toContain(token.pin);
  });

  it("creates root keys that are sensitive and not extractable", async () => {
    const label = freshLabel();
    const p = provider(config({ SSE_PKCS11_KEY_LABEL: label }));
    await p.open();
    await p.rotate();

    const lib = new pkcs11js.PKCS11();
    lib.load(token.module);
    try {
      lib.C_Initialize();
    } catch (e) {
      // the provider above already initialised this module in this process
      if ((e as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
    }
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    try {
      // the provider's login is per token, so this session is already in the user state
      for (const v of [1, 2]) {
        lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: `${label}-v${v}` }]);
        const found = lib.C_FindObjects(session, 10);
        lib.C_FindObjectsFinal(session);
        expect(found).toHaveLength(1);
        const attrs = lib.C_GetAttributeValue(session, found[0]!, [
          { type: pkcs11js.CKA_EXTRACTABLE },
          { type: pkcs11js.CKA_SENSITIVE },
          { type: pkcs11js.CKA_TOKEN },
          { type: pkcs11js.CKA_ENCRYPT },
          { type: pkcs11js.CKA_DECRYPT },
          { type: pkcs11js.CKA_KEY_TYPE },
          { type: pkcs11js.CKA_VALUE_LEN },
        ]);
        const [extractable, sensitive, tokenObj, encrypt, decrypt, keyType, valueLen] = attrs.map(
          (a) => a.value,
        );
        expect(extractable?.[0]).toBe(0);
        expect(sensitive?.[0]).toBe(1);
        expect(tokenObj?.[0]).toBe(1);
        expect(encrypt?.[0]).toBe(1);
        expect(decrypt?.[0]).toBe(1);
        expect(keyType?.readUInt32LE(0)).toBe(pkcs11js.CKK_AES);
        expect(valueLen?.readUInt32LE(0)).toBe(32);
        expect(() => lib.C_GetAttributeValue(session, found[0]!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(
          /CKR_ATTRIBUTE_SENSITIVE/,
        );
      }
    } finally {
      lib.C_CloseSession(session);
      lib.close();
    }
  });

  it("tampered blob, wrong AD, or wrong version → IntegrityError", async () => {
    const p = provider(config({ SSE_PKCS11_KEY_LABEL: freshLabel() }));
    await p.open();
    const w = await p.wrap(key(), ad);
    await expect(p.unwrap(w, Buffer.from("owner=mallory;kek=1"))).rejects.toBeInstanceOf(IntegrityError);
    await expect(p.unwrap({ rootVersion: 2, blob: w.blob }, ad)).rejects.toBeInstanceOf(IntegrityError);
    await expect(p.unwrap({ rootVersion: 1, blob: w.blob.subarray(0, 30) }, ad)).rejects.toBeInstanceOf(
      IntegrityError,
    );
    for (const byte of [0, 3, 5, 10, 17, 30, w.blob.length - 1]) {
      const bad = Buffer.from(w.blob);
      bad[byte]! ^= 0x40;
      await expect(p.unwrap({ rootVersion: 1, blob: bad }, ad)).rejects.toBeInstanceOf(IntegrityError);
    }
    // still healthy after the failures
    expect(await p.unwrap(w, ad)).toEqual(key());
  });

  it("refuses a missing module or token with one clear line", async () => {
    const noModule = provider(config({ SSE_PKCS11_MODULE: "/nonexistent/libpkcs11.so" }));
    await expect(noModule.open()).rejects.toThrow(
      /^cannot load PKCS#11 module \/nonexistent\/libpkcs11\.so: [^\n]*$/,
    );
    const noToken = provider(config({ SSE_PKCS11_TOKEN_LABEL: "no-such-token" }));
    await expect(noToken.open()).rejects.toThrow(/^PKCS#11 token labelled "no-such-token" not found$/);
  });

  it("serialises concurrent calls on its one session", async () => {
    const p = provider(config({ SSE_PKCS11_KEY_LABEL: freshLabel() }));
    await p.open();
    const keys = Array.from({ length: 50 }, (_, i) => Buffer.alloc(32, i));
    const wrapped = await Promise.all(keys.map((k) => p.wrap(k, ad)));
    const back = await Promise.all(wrapped.map((w) => p.unwrap(w, ad)));
    expect(back).toEqual(keys);
  });
});
