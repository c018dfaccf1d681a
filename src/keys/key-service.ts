// Per-user key-encryption keys (KEKs) with numbered versions, each wrapped by the root key.
// Data keys are wrapped and unwrapped here; KEK bytes never leave this module.
import { generateKey, kekContext, unwrapKey, wrapKey, zeroize } from "../crypto/envelope.js";
import { AppError } from "../errors.js";
import type { KekVersionRecord, KeyStore, UserKeyState } from "../store/store.js";
import { KekCache } from "./kek-cache.js";
import type { RootKeyProvider } from "./root-key-provider.js";

export interface KeyServiceOptions {
  cacheSize: number;
  cacheTtlMs: number;
}

export interface WrappedDek {
  kekVersion: number;
  wrappedDek: Buffer;
}

export class KeyService {
  readonly cache: KekCache;

  constructor(
    readonly keyStore: KeyStore,
    readonly root: RootKeyProvider,
    opts: KeyServiceOptions,
  ) {
    this.cache = new KekCache(opts.cacheSize, opts.cacheTtlMs);
  }

  /** Gives a new user its first KEK version. */
  async createUserKey(owner: string): Promise<void> {
    const rec = await this.newKekVersion(owner, 1);
    await this.keyStore.createUserKey({ owner, primaryVersion: 1, minDecryptionVersion: 1 }, rec);
  }

  async state(owner: string): Promise<UserKeyState> {
    const st = await this.keyStore.getUserKeyState(owner);
    // A missing key means it was destroyed (shredded): nothing of this owner can be read or written.
    if (!st) throw new AppError("not_found", "no key exists for this user");
    return st;
  }

  /** Wraps a fresh data key under the owner's primary KEK version. */
  async wrapDek(owner: string, dek: Buffer, context: Buffer): Promise<WrappedDek> {
    const st = await this.state(owner);
    const wrappedDek = await this.withKek(owner, st.primaryVersion, (kek) =>
      wrapKey(kek, st.primaryVersion, dek, context),
    );
    return { kekVersion: st.primaryVersion, wrappedDek };
  }

  /** Unwraps a data key; the caller zeroes it after use. */
  async unwrapDek(owner: string, kekVersion: number, wrappedDek: Buffer, context: Buffer): Promise<Buffer> {
    const st = await this.state(owner);
    if (kekVersion < st.minDecryptionVersion)
      throw new AppError(
        "forbidden",
        `key version ${kekVersion} is retired (minimum decryption version ${st.minDecryptionVersion})`,
      );
    return this.withKek(owner, kekVersion, (kek) => unwrapKey(kek, wrappedDek, context));
  }

  /**
   * Runs `fn` with the unwrapped KEK, synchronously, so a concurrent cache eviction can never
   * zero the key while it is in use.
   */
  async withKek<T>(owner: string, version: number, fn: (kek: Buffer) => T): Promise<T> {
    const cached = this.cache.get(owner, version);
    if (cached) return fn(cached);
    const rec = await this.keyStore.getKekVersion(owner, version);
    if (!rec) throw new AppError("not_found", `key version ${version} does not exist`);
    const kek = await this.root.unwrap(
      { rootVersion: rec.rootVersion, blob: rec.wrappedKek },
      kekContext(owner, version),
    );
    const again = this.cache.peek(owner, version);
    if (again) {
      zeroize(kek);
      return fn(again);
    }
    const owned = this.cache.set(owner, version, kek);
    try {
      return fn(kek);
    } finally {
      if (!owned) zeroize(kek);
    }
  }

  protected async newKekVersion(owner: string, version: number): Promise<KekVersionRecord> {
    const kek = generateKey();
    try {
      const w = await this.root.wrap(kek, kekContext(owner, version));
      return { owner, version, rootVersion: w.rootVersion, wrappedKek: w.blob, created: new Date() };
    } finally {
      zeroize(kek);
    }
  }
}
