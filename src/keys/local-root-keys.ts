// Versioned root keys kept in process memory, shared by the file and passphrase providers: the
// providers differ only in how the key ring is stored (loadKeyring/saveKeyring); wrapping,
// versions, rotation, retirement and the self-test live here once. The ring itself is keyring.ts,
// the files it is stored in key-store-file.ts.
import { timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import { sodium } from "../crypto/sodium.js";
import { AppError, DiskFullError, IntegrityError, isNoSpaceErrno, KeyProviderError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import { KeyringExistsError } from "./key-store-file.js";
import { type Keyring, newRootKeyVersion, type RootKeyVersion, zeroKeyring } from "./keyring.js";
import type { ProviderContext, RootKeyProvider, RootWrapped } from "./root-key-provider.js";
import {
  associatedData,
  BLOB_XCHACHA20POLY1305,
  checkHeader,
  encodeHeader,
  HEADER_BYTES,
  isRootVersion,
} from "./root-wrap-format.js";
import { randomBytes } from "./sodium-binding.js";

const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** How stale this process's copy of the key ring may get before a wrap rereads it. */
const RELOAD_MS = 30_000;

export abstract class LocalRootKeyProvider implements RootKeyProvider {
  abstract readonly name: string;
  protected readonly logger: Logger;
  #ring: Keyring | undefined;
  #byVersion = new Map<number, RootKeyVersion>();
  /** rotate/retire run one at a time, each on the ring its predecessor left. */
  #mutations: Promise<unknown> = Promise.resolve();
  #lastRefresh = 0;
  #lastUnknownReload = 0;
  /** A store that cannot be reread (disk, network share) is logged once, then summarised. */
  readonly #reloadFailures: FailureLog;

  constructor(protected readonly ctx: ProviderContext) {
    this.logger = ctx.logger;
    this.#reloadFailures = new FailureLog(ctx.logger, "rereading the root key store");
  }

  /** The stored key ring, or undefined when none exists yet. Errors: one line, no secret. */
  protected abstract loadKeyring(): Promise<Keyring | undefined>;
  /** Persists the ring atomically; "create" throws KeyringExistsError if one appeared meanwhile. */
  protected abstract saveKeyring(ring: Keyring, mode: "create" | "replace"): Promise<void>;
  /** Called once the provider is open (for the provider's own log lines). */
  protected abstract opened(created: boolean): void;

  async open(): Promise<void> {
    if (this.#ring) return;
    let ring = await this.loadKeyring();
    let created = false;
    if (!ring) {
      const fresh: Keyring = { primary: 1, versions: [newRootKeyVersion(1)] };
      try {
        await this.saveKeyring(fresh, "create");
        ring = fresh;
        created = true;
      } catch (e) {
        zeroKeyring(fresh);
        if (!(e instanceof KeyringExistsError)) throw e;
        ring = await this.loadKeyring();
        if (!ring) throw new Error(`${this.name} root key store vanished while opening`);
      }
    }
    this.#install(ring);
    this.#lastRefresh = Date.now();
    try {
      this.#selfTest();
    } catch (e) {
      await this.close();
      throw e;
    }
    this.opened(created);
  }

  primaryVersion(): number {
    return this.#current().primary;
  }

  versions(): number[] {
    return this.#current().versions.map((v) => v.version);
  }

  async wrap(key: Buffer, ad: Buffer): Promise<RootWrapped> {
    // Another process sharing the store may have rotated: reread it now and then.
    if (this.#current() && Date.now() - this.#lastRefresh > RELOAD_MS) await this.#reload();
    return this.#wrapSync(key, ad);
  }

  async unwrap(wrapped: RootWrapped, ad: Buffer): Promise<Buffer> {
    const ring = this.#current();
    const v = wrapped.rootVersion;
    // A newer version than ours: another process sharing the store rotated; reload (at most 1/s).
    if (
      isRootVersion(v) &&
      v > ring.primary &&
      !this.#byVersion.has(v) &&
      Date.now() - this.#lastUnknownReload > 1000
    ) {
      this.#lastUnknownReload = Date.now();
      await this.#reload();
    }
    return this.#unwrapSync(wrapped, ad);
  }

  rotate(): Promise<number> {
    return this.#mutate(async (ring) => {
      const next = newRootKeyVersion(Math.max(...ring.versions.map((v) => v.version)) + 1);
      const updated: Keyring = { primary: next.version, versions: [...ring.versions, next] };
      try {
        await this.saveKeyring(updated, "replace");
      } catch (e) {
        sodium.sodium_memzero(next.key);
        if (isNoSpaceErrno(e)) throw new DiskFullError(e);
        throw new KeyProviderError("could not store the new root key version", e);
      }
      this.#install(updated);
      this.logger.info({ provider: this.name, rootVersion: next.version }, "root key rotated");
      return next.version;
    });
  }

  retire(version: number): Promise<void> {
    return this.#mutate(async (ring) => {
      const victim = this.#byVersion.get(version);
      if (!victim) throw new AppError("not_found", `root key version ${version} does not exist`);
      if (version === ring.primary)
        throw new AppError("conflict", `root key version ${version} is primary and cannot be retired`);
      const updated: Keyring = { primary: ring.primary, versions: ring.versions.filter((v) => v !== victim) };
      try {
        await this.saveKeyring(updated, "replace");
      } catch (e) {
        if (isNoSpaceErrno(e)) throw new DiskFullError(e);
        throw new KeyProviderError("could not store the key ring without the retired version", e);
      }
      this.#install(updated);
      sodium.sodium_memzero(victim.key);
      this.logger.info({ provider: this.name, rootVersion: version }, "root key version retired");
    });
  }

  async ping(): Promise<void> {
    this.#current();
  }

  async close(): Promise<void> {
    await this.#mutations.catch(() => undefined);
    if (this.#ring) zeroKeyring(this.#ring);
    this.#ring = undefined;
    this.#byVersion.clear();
  }

  #current(): Keyring {
    if (!this.#ring) throw new KeyProviderError(`the ${this.name} root key provider is not open`);
    return this.#ring;
  }

  /** Rereads the store; on failure keeps the keys in memory (the store is checked again later). */
  async #reload(): Promise<void> {
    await this.#mutate(async () => undefined).then(
      () => this.#reloadFailures.succeeded(),
      (e: unknown) => this.#reloadFailures.failed(String(e), { provider: this.name }),
    );
  }

  async #refresh(): Promise<Keyring> {
    this.#lastRefresh = Date.now();
    const ring = await this.loadKeyring();
    if (!ring) throw new KeyProviderError(`the ${this.name} root key store has disappeared`);
    const old = this.#ring;
    this.#install(ring);
    if (old) zeroKeyring(old);
    return ring;
  }

  #install(ring: Keyring): void {
    this.#ring = ring;
    this.#byVersion = new Map(ring.versions.map((v) => [v.version, v]));
  }

  /** Runs `fn` after earlier mutations, on the ring as stored now (another process may have changed it). */
  #mutate<T>(fn: (ring: Keyring) => Promise<T>): Promise<T> {
    const run = this.#mutations.then(async () => {
      this.#current();
      return fn(await this.#refresh());
    });
    this.#mutations = run.catch(() => undefined);
    return run;
  }

  #wrapSync(key: Buffer, ad: Buffer): RootWrapped {
    if (!Buffer.isBuffer(key) || key.length === 0)
      throw new TypeError("wrap: key must be a non-empty Buffer");
    const ring = this.#current();
    const root = this.#byVersion.get(ring.primary)!;
    const header = encodeHeader(BLOB_XCHACHA20POLY1305, root.version);
    const nonce = randomBytes(NONCE_BYTES);
    const blob = Buffer.alloc(HEADER_BYTES + NONCE_BYTES + key.length + TAG_BYTES);
    header.copy(blob, 0);
    nonce.copy(blob, HEADER_BYTES);
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      blob.subarray(HEADER_BYTES + NONCE_BYTES),
      key,
      associatedData(header, ad),
      null,
      nonce,
      root.key,
    );
    return { rootVersion: root.version, blob };
  }

  #unwrapSync(wrapped: RootWrapped, ad: Buffer): Buffer {
    this.#current();
    const header = checkHeader(
      wrapped.blob,
      BLOB_XCHACHA20POLY1305,
      wrapped.rootVersion,
      NONCE_BYTES + TAG_BYTES + 1,
    );
    const root = this.#byVersion.get(wrapped.rootVersion);
    if (!root) throw new IntegrityError("root-wrapped key names an unknown or retired root key version");
    const body = wrapped.blob.subarray(HEADER_BYTES + NONCE_BYTES);
    const out = Buffer.alloc(body.length - TAG_BYTES);
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out,
        null,
        body,
        associatedData(header, ad),
        wrapped.blob.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
        root.key,
      );
    } catch {
      throw new IntegrityError("root-wrapped key failed authentication");
    }
    return out;
  }

  #selfTest(): void {
    const probe = randomBytes(32);
    const ad = randomBytes(16);
    let back: Buffer | undefined;
    try {
      back = this.#unwrapSync(this.#wrapSync(probe, ad), ad);
      if (!timingSafeEqual(back, probe)) throw new Error("mismatch");
    } catch {
      throw new Error(`${this.name} root key provider failed its self-test (wrap + unwrap)`);
    } finally {
      sodium.sodium_memzero(probe);
      if (back) sodium.sodium_memzero(back);
    }
  }
}
