// The per-process key-state cache of KeyService, on a real keys.db and the file root provider:
// local changes apply at once, a change made by another process (here: straight in the store)
// within KEY_STATE_TTL_MS, and the decisions that need the latest state always read the store.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { generateKey } from "../../src/crypto/envelope.js";
import { KEY_STATE_TTL_MS, KeyService } from "../../src/keys/key-service.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import type { KeyStore } from "../../src/store/key-store.js";
import type { UserKeyState } from "../../src/store/records.js";
import { openKeysFile } from "../../src/store/sqlite/open.js";
import type { KeysDatabase } from "../../src/store/stores.js";

describe("KeyService key-state cache", () => {
  let dir: string;
  let db: KeysDatabase;
  let store: KeyStore;
  let root: RootKeyProvider;
  let reads: number;
  let gate: Promise<void> | null;
  let counting: KeyStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "sse-keystate-"));
    db = openKeysFile(path.join(dir, "keys.db"));
    store = db.keys;
    const config = loadConfig({ SSE_DATA_DIR: dir, SSE_LOG_LEVEL: "silent" });
    root = createRootKeyProvider({ config, logger: pino({ level: "silent" }) });
    await root.open();
    reads = 0;
    gate = null;
    // The real store, with its state reads counted and, when `gate` is set, held until it opens.
    counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "getUserKeyState")
          return async (owner: string): Promise<UserKeyState | null> => {
            reads++;
            const st = await target.getUserKeyState(owner);
            if (gate) await gate;
            return st;
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await db.close();
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const service = () => new KeyService(counting, root, { cacheSize: 16, cacheTtlMs: 60_000 });

  it("reads the store once per owner within the TTL, and again after it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const keys = service();
    await keys.createUserKey("alice");
    reads = 0;
    for (let i = 0; i < 5; i++) expect((await keys.state("alice")).primaryVersion).toBe(1);
    expect(reads).toBe(1);
    vi.setSystemTime(Date.now() + KEY_STATE_TTL_MS + 1);
    await keys.state("alice");
    expect(reads).toBe(2);
  });

  it("applies a local rotation, retirement and destruction at once", async () => {
    const keys = service();
    await keys.createUserKey("alice");
    expect((await keys.state("alice")).primaryVersion).toBe(1);
    await keys.rotate("alice");
    expect((await keys.state("alice")).primaryVersion).toBe(2);
    await keys.retireBelow("alice", 2);
    expect((await keys.state("alice")).minDecryptionVersion).toBe(2);
    // A data key under the retired version is refused by this process at once.
    const err = await keys
      .unwrapDek("alice", 1, Buffer.alloc(78), Buffer.from("ctx"))
      .catch((e: unknown) => e as { code?: string });
    expect(err).toMatchObject({ code: "key_destroyed" });
    await keys.destroyUserKeys("alice");
    await expect(keys.state("alice")).rejects.toMatchObject({ code: "key_destroyed" });
  });

  it("sees another process's change within the TTL; fresh reads see it at once", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const keys = service();
    await keys.createUserKey("alice");
    await keys.state("alice");
    // Another process rotates: a new version straight in the shared store.
    const w = await root.wrap(generateKey(), Buffer.from("another process"));
    await store.addKekVersion({
      owner: "alice",
      version: 2,
      rootVersion: w.rootVersion,
      wrappedKek: w.blob,
      created: new Date(),
    });
    expect((await keys.state("alice")).primaryVersion).toBe(1);
    expect((await keys.state("alice", true)).primaryVersion).toBe(2);
    // The fresh read refreshed the cache too.
    expect((await keys.state("alice")).primaryVersion).toBe(2);

    await store.retireKekVersionsBelow("alice", 2);
    expect((await keys.state("alice")).minDecryptionVersion).toBe(1);
    vi.setSystemTime(Date.now() + KEY_STATE_TTL_MS + 1);
    expect((await keys.state("alice")).minDecryptionVersion).toBe(2);
  });

  it("does not cache a state read that raced a local change", async () => {
    const keys = service();
    await keys.createUserKey("alice");
    let open!: () => void;
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    // This read gets version 1 from the store, then waits; the rotation lands meanwhile.
    const racing = keys.state("alice");
    await new Promise((r) => setTimeout(r, 10));
    gate = null;
    await keys.rotate("alice");
    open();
    expect((await racing).primaryVersion).toBe(1);
    expect((await keys.state("alice")).primaryVersion).toBe(2);
  });
});
