// Per-user key-encryption keys (KEKs) with numbered versions, each wrapped by the root key.
// Data keys are wrapped and unwrapped here; KEK bytes never leave this module.
import { dekContext, generateKey, kekContext, unwrapKey, wrapKey, zeroize } from "../crypto/envelope.js";
import { AppError, IntegrityError } from "../errors.js";
import { KeyedQueue } from "../keyed-queue.js";
import type { KeyStore } from "../store/key-store.js";
import type {
  DekRewrap,
  KekRewrap,
  KekVersionRecord,
  ObjectKeyInfo,
  UserKeyState,
} from "../store/records.js";
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

export interface DekRewrapOutcome {
  /** New wrappings, ready for ObjectStore.updateWrappedDeks. */
  updates: DekRewrap[];
  /** Objects whose data key could not be moved, and why (damaged or destroyed key). */
  failed: { id: string; error: AppError }[];
}

/** The owner's key is gone: shredded with the user, or the version retired. */
export function keyDestroyed(detail: string): AppError {
  return new AppError("key_destroyed", detail);
}

/**
 * Key states read by this process are reused this long on the read and write paths. Changes made
 * through this process apply at once (they drop the entry); another process sharing the store sees
 * them within this time. Decisions that must see the latest state (rotation, retirement, the check
 * after a write commits, rewrap) always read the store: docs/KEYS.md, "Caches".
 */
export const KEY_STATE_TTL_MS = 1000;
const MAX_CACHED_STATES = 10_000;

export class KeyService {
  readonly cache: KekCache;
  readonly #states = new Map<string, { state: UserKeyState; until: number }>();
  /** Bumped by every local change, so that a read that raced one does not cache what it read. */
  #stateGeneration = 0;
  /** Unwraps in progress, by owner:version. */
  readonly #loading = new Map<string, Promise<void>>();
  /** Serialises key-state changes per owner within this process (rotate, retire). */
  readonly #ownerQueue = new KeyedQueue();

  constructor(
    readonly keyStore: KeyStore,
    readonly root: RootKeyProvider,
    opts: KeyServiceOptions,
  ) {
    this.cache = new KekCache(opts.cacheSize, opts.cacheTtlMs);
  }

  /** Gives a new user its first KEK version. */
  async createUserKey(owner: string): Promise<void> {
    await this.#withNewKek(owner, 1, async (rec) => {
      await this.keyStore.createUserKey({ owner, primaryVersion: 1, minDecryptionVersion: 1 }, rec);
    });
    this.#forgetState(owner);
  }

  /** The owner's key state; `fresh` reads the store, otherwise a state up to KEY_STATE_TTL_MS old may serve. */
  async state(owner: string, fresh = false): Promise<UserKeyState> {
    const now = Date.now();
    if (!fresh) {
      const hit = this.#states.get(owner);
      if (hit && hit.until > now) return hit.state;
    }
    const generation = this.#stateGeneration;
    const st = await this.keyStore.getUserKeyState(owner);
    // A missing key was destroyed (shredded): nothing of this owner can be read or written.
    if (!st) {
      this.#states.delete(owner);
      throw keyDestroyed("the keys of this data's owner were destroyed");
    }
    if (generation === this.#stateGeneration) {
      if (this.#states.size >= MAX_CACHED_STATES) this.#states.clear();
      this.#states.set(owner, { state: st, until: now + KEY_STATE_TTL_MS });
    }
    return st;
  }

  /** Drops the cached state of `owner` after a change made here. */
  #forgetState(owner: string): void {
    this.#stateGeneration++;
    this.#states.delete(owner);
  }

  /** Wraps a fresh data key under the owner's primary KEK version. */
  async wrapDek(owner: string, dek: Buffer, context: Buffer): Promise<WrappedDek> {
    const st = await this.state(owner);
    const wrappedDek = await this.withKek(owner, st.primaryVersion, (kek) =>
      wrapKey(kek, st.primaryVersion, dek, context),
    );
    return { kekVersion: st.primaryVersion, wrappedDek };
  }

  /**
   * After a write committed under `kekVersion`: when the primary version moved on meanwhile (a
   * rotation during a long upload), the data key wrapped under the new primary, else null. Without
   * this, a rewrap and a raised minimum could pass the write by and leave it undecryptable.
   */
  async rewrapIfStale(
    owner: string,
    kekVersion: number,
    dek: Buffer,
    context: Buffer,
  ): Promise<WrappedDek | null> {
    const st = await this.state(owner, true);
    if (kekVersion >= st.primaryVersion) return null;
    return this.wrapDek(owner, dek, context);
  }

  /** Unwraps a data key; the caller zeroes it after use. */
  async unwrapDek(owner: string, kekVersion: number, wrappedDek: Buffer, context: Buffer): Promise<Buffer> {
    const st = await this.state(owner);
    if (kekVersion < st.minDecryptionVersion) throw retired(kekVersion, st.minDecryptionVersion);
    return this.withKek(owner, kekVersion, (kek) => unwrapKey(kek, wrappedDek, context));
  }

  /**
   * Runs `fn` with the unwrapped KEK, synchronously, so a concurrent cache eviction can never
   * zero the key while it is in use.
   */
  async withKek<T>(owner: string, version: number, fn: (kek: Buffer) => T): Promise<T> {
    const cached = this.cache.get(owner, version);
    if (cached) return fn(cached);
    const k = `${owner}:${version}`;
    // A burst of requests on a cold cache waits for one unwrap instead of queueing one each at the HSM.
    const pending = this.#loading.get(k);
    if (pending) {
      await pending;
      // Second looks (after waiting, after unwrapping) are part of the lookup already counted.
      const loaded = this.cache.peek(owner, version);
      if (loaded) return fn(loaded);
    }
    let loaded!: () => void;
    const mine = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    if (!this.#loading.has(k)) this.#loading.set(k, mine);
    try {
      const kek = await this.#unwrapKek(owner, version);
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
    } finally {
      if (this.#loading.get(k) === mine) this.#loading.delete(k);
      loaded();
    }
  }

  /** Adds a KEK version and makes it primary; new writes use it, older versions still decrypt. */
  rotate(owner: string): Promise<number> {
    return this.#ownerQueue.run(owner, async () => {
      await this.state(owner, true);
      const versions = await this.keyStore.listKekVersions(owner);
      const next = Math.max(0, ...versions.map((v) => v.version)) + 1;
      try {
        await this.#withNewKek(owner, next, (rec) => this.keyStore.addKekVersion(rec));
      } finally {
        this.#forgetState(owner);
      }
      return next;
    });
  }

  /**
   * Raises the minimum decryption version and destroys every version below it. The caller has
   * checked that no object still uses them.
   */
  retireBelow(owner: string, version: number): Promise<void> {
    return this.#ownerQueue.run(owner, async () => {
      const st = await this.state(owner, true);
      try {
        await this.keyStore.retireKekVersionsBelow(owner, version);
      } finally {
        this.#forgetState(owner);
      }
      for (let v = st.minDecryptionVersion; v < version; v++) this.cache.forget(owner, v);
    });
  }

  /** Crypto-shredding: every version of the owner's key, destroyed, in the store and in memory. */
  async destroyUserKeys(owner: string): Promise<void> {
    try {
      await this.keyStore.destroyUserKeys(owner);
    } finally {
      this.#forgetState(owner);
      this.cache.forgetOwner(owner);
    }
  }

  /**
   * Rewrap without touching data: each object's data key, unwrapped with the version it names and
   * wrapped again under `toVersion`. Objects already there are left out.
   */
  async rewrapDeks(owner: string, items: ObjectKeyInfo[], toVersion: number): Promise<DekRewrapOutcome> {
    const out: DekRewrapOutcome = { updates: [], failed: [] };
    const stale = items.filter((it) => it.kekVersion !== toVersion);
    if (stale.length === 0) return out;
    const keks = new Map<number, Buffer>();
    try {
      for (const v of new Set([toVersion, ...stale.map((it) => it.kekVersion)])) {
        try {
          keks.set(v, await this.#kekCopy(owner, v));
        } catch (err) {
          if (v === toVersion || !(err instanceof AppError)) throw err;
          // A destroyed or damaged version: its objects are reported, the others still move.
        }
      }
      const target = keks.get(toVersion)!;
      for (const it of stale) {
        const kek = keks.get(it.kekVersion);
        if (!kek) {
          out.failed.push({
            id: it.id,
            error: keyDestroyed(`key version ${it.kekVersion} no longer exists`),
          });
          continue;
        }
        const context = dekContext(owner, it.id, it.writeId);
        let dek: Buffer;
        try {
          dek = unwrapKey(kek, it.wrappedDek, context);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          out.failed.push({ id: it.id, error: err });
          continue;
        }
        try {
          const wrappedDek = wrapKey(target, toVersion, dek, context);
          out.updates.push({ id: it.id, writeId: it.writeId, kekVersion: toVersion, wrappedDek });
        } finally {
          zeroize(dek);
        }
      }
      return out;
    } finally {
      for (const k of keks.values()) zeroize(k);
    }
  }

  /**
   * One wrapped key that is not an object's (an S3 access key's secret) moved to `toVersion`:
   * unwrapped with the version it names and wrapped again under the same context. Its plaintext
   * never leaves this module.
   */
  async rewrapKey(
    owner: string,
    kekVersion: number,
    wrapped: Buffer,
    context: Buffer,
    toVersion: number,
  ): Promise<Buffer> {
    const key = await this.unwrapDek(owner, kekVersion, wrapped, context);
    try {
      return await this.withKek(owner, toVersion, (kek) => wrapKey(kek, toVersion, key, context));
    } finally {
      zeroize(key);
    }
  }

  /**
   * Root rotation: one KEK version unwrapped with the root version that wrapped it and wrapped
   * under the primary. Returns the new wrapping; the caller stores a page of them at once.
   */
  async rewrapUnderRoot(rec: KekVersionRecord): Promise<KekRewrap> {
    const context = kekContext(rec.owner, rec.version);
    const kek = await this.root.unwrap({ rootVersion: rec.rootVersion, blob: rec.wrappedKek }, context);
    try {
      const w = await this.root.wrap(kek, context);
      return { owner: rec.owner, version: rec.version, rootVersion: w.rootVersion, wrappedKek: w.blob };
    } finally {
      zeroize(kek);
    }
  }

  /** A private copy of one KEK version (the caller zeroes it), through the cache. */
  async #kekCopy(owner: string, version: number): Promise<Buffer> {
    return this.withKek(owner, version, (kek) => Buffer.from(kek));
  }

  async #unwrapKek(owner: string, version: number): Promise<Buffer> {
    const rec = await this.keyStore.getKekVersion(owner, version);
    if (!rec) {
      const st = await this.state(owner, true);
      if (version < st.minDecryptionVersion) throw retired(version, st.minDecryptionVersion);
      // The data names a version keys.db never had (e.g. keys.db restored from an older backup).
      throw new IntegrityError(`key version ${version} of this data's owner does not exist`);
    }
    return this.root.unwrap(
      { rootVersion: rec.rootVersion, blob: rec.wrappedKek },
      kekContext(owner, version),
    );
  }

  /**
   * Creates a KEK version, lets `store` persist it, then checks it against the root's primary: a
   * root rotation that ran between wrap and store would otherwise leave it under a retired root.
   */
  async #withNewKek(owner: string, version: number, store: (rec: KekVersionRecord) => Promise<void>) {
    const kek = generateKey();
    const context = kekContext(owner, version);
    try {
      const w = await this.root.wrap(kek, context);
      await store({ owner, version, rootVersion: w.rootVersion, wrappedKek: w.blob, created: new Date() });
      if (w.rootVersion !== this.root.primaryVersion()) {
        const again = await this.root.wrap(kek, context);
        await this.keyStore.rewrapKekVersions([
          { owner, version, rootVersion: again.rootVersion, wrappedKek: again.blob },
        ]);
      }
    } finally {
      zeroize(kek);
    }
  }
}

function retired(version: number, min: number): AppError {
  return keyDestroyed(`key version ${version} was retired (the minimum decryption version is ${min})`);
}
