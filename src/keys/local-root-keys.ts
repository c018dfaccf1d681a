// Versioned root keys kept in process memory, shared by the file and passphrase providers: the
// providers differ only in how the key ring is stored (loadKeyring/saveKeyring); wrapping,
// versions, rotation, retirement and the self-test live here once.
import { randomBytes as nodeRandomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { sodium } from "../crypto/sodium.js";
import { AppError, DiskFullError, IntegrityError, isNoSpaceErrno, KeyProviderError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import type { ProviderContext, RootKeyProvider, RootWrapped } from "./root-key-provider.js";
import {
  associatedData,
  BLOB_XCHACHA20POLY1305,
  checkHeader,
  encodeHeader,
  HEADER_BYTES,
  isRootVersion,
} from "./root-wrap-format.js";
import { randomBytes, secretBuffer } from "./sodium-binding.js";

export const ROOT_KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** How stale this process's copy of the key ring may get before a wrap rereads it. */
const RELOAD_MS = 30_000;

export interface RootKeyVersion {
  version: number;
  /** ISO 8601 creation time. */
  created: string;
  /** ROOT_KEY_BYTES of key material, in guarded memory. */
  key: Buffer;
}

export interface Keyring {
  primary: number;
  versions: RootKeyVersion[];
}

/** Thrown by saveKeyring(…, "create") when another process created the store first. */
export class KeyringExistsError extends Error {
  override name = "KeyringExistsError";
}

export function newRootKeyVersion(version: number): RootKeyVersion {
  const key = secretBuffer(ROOT_KEY_BYTES);
  sodium.randombytes_buf(key);
  return { version, created: new Date().toISOString(), key };
}

/** Decodes strict base64 of exactly `bytes` bytes into guarded memory; undefined when malformed. */
export function secretFromBase64(text: string, bytes: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const tmp = Buffer.from(text, "base64");
  try {
    if (tmp.length !== bytes) return undefined;
    const out = secretBuffer(bytes);
    tmp.copy(out);
    return out;
  } finally {
    sodium.sodium_memzero(tmp);
  }
}

export function zeroKeyring(ring: Keyring): void {
  for (const v of ring.versions) sodium.sodium_memzero(v.key);
}

/** Validates a decoded key ring; `what` names the store in the one-line error. */
export function checkKeyring(ring: Keyring, what: string): Keyring {
  if (ring.versions.length === 0) throw new Error(`${what} holds no root key version`);
  const seen = new Set<number>();
  for (const v of ring.versions) {
    if (!isRootVersion(v.version)) throw new Error(`${what} has an invalid root key version number`);
    if (seen.has(v.version)) throw new Error(`${what} lists root key version ${v.version} twice`);
    seen.add(v.version);
    if (v.key.length !== ROOT_KEY_BYTES) throw new Error(`${what} has a root key of the wrong length`);
  }
  if (!seen.has(ring.primary)) throw new Error(`${what} names a primary version it does not hold`);
  ring.versions.sort((a, b) => a.version - b.version);
  return ring;
}

// Binary encoding (used inside the sealed file, so key bytes never become JS strings):
//   u8 1 ‖ u32be primary ‖ u32be count ‖ count × (u32be version ‖ f64be createdMs ‖ 32-byte key)
const RING_ENTRY_BYTES = 4 + 8 + ROOT_KEY_BYTES;

export function encodeKeyringBinary(ring: Keyring): Buffer {
  const out = secretBuffer(9 + ring.versions.length * RING_ENTRY_BYTES);
  out.writeUInt8(1, 0);
  out.writeUInt32BE(ring.primary, 1);
  out.writeUInt32BE(ring.versions.length, 5);
  let off = 9;
  for (const v of ring.versions) {
    out.writeUInt32BE(v.version, off);
    out.writeDoubleBE(Date.parse(v.created), off + 4);
    v.key.copy(out, off + 12);
    off += RING_ENTRY_BYTES;
  }
  return out;
}

export function decodeKeyringBinary(buf: Buffer, what: string): Keyring {
  const bad = () => new Error(`${what} is not valid: malformed key ring`);
  if (buf.length < 9 || buf.readUInt8(0) !== 1) throw bad();
  const count = buf.readUInt32BE(5);
  if (buf.length !== 9 + count * RING_ENTRY_BYTES) throw bad();
  const versions: RootKeyVersion[] = [];
  for (let i = 0, off = 9; i < count; i++, off += RING_ENTRY_BYTES) {
    const created = new Date(buf.readDoubleBE(off + 4));
    if (Number.isNaN(created.getTime())) throw bad();
    const key = secretBuffer(ROOT_KEY_BYTES);
    buf.copy(key, 0, off + 12, off + 12 + ROOT_KEY_BYTES);
    versions.push({ version: buf.readUInt32BE(off), created: created.toISOString(), key });
  }
  return checkKeyring({ primary: buf.readUInt32BE(1), versions }, what);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? "unknown error";
}

/**
 * Reads a key store file, refusing it when group or others have any access. Returns undefined when
 * it does not exist. Errors are one line and name the path, never the content.
 */
export async function readSecretFile(file: string): Promise<Buffer | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, "r");
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw new Error(`cannot open ${file}: ${errCode(e)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const mode = st.mode & 0o777;
    if ((mode & ~0o600) !== 0)
      throw new Error(
        `${file} has mode 0${mode.toString(8)}, looser than 0600; refusing to use it (chmod 600 ${file})`,
      );
    return await fh.readFile();
  } catch (e) {
    if (e instanceof Error && !("code" in e)) throw e;
    throw new Error(`cannot read ${file}: ${errCode(e)}`);
  } finally {
    await fh.close();
  }
}

/**
 * Durably writes `data` to `file` with mode 0600: temp file, fsync, then rename (replace) or link
 * (create, failing with KeyringExistsError when the file appeared meanwhile), then fsync the dir.
 */
export async function writeSecretFile(file: string, data: Buffer, mode: "create" | "replace"): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${nodeRandomBytes(6).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", 0o600);
  try {
    try {
      await fh.chmod(0o600);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (mode === "create") {
      try {
        await fs.link(tmp, file);
      } catch (e) {
        if (errCode(e) === "EEXIST") throw new KeyringExistsError(`${file} already exists`);
        throw e;
      }
    } else {
      await fs.rename(tmp, file);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const dh = await fs.open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export abstract class LocalRootKeyProvider implements RootKeyProvider {
  abstract readonly name: string;
  protected readonly logger: Logger;
  private ring: Keyring | undefined;
  private byVersion = new Map<number, RootKeyVersion>();
  /** rotate/retire run one at a time, each on the ring its predecessor left. */
  private mutations: Promise<unknown> = Promise.resolve();
  private lastRefresh = 0;
  private lastUnknownReload = 0;
  /** A store that cannot be reread (disk, network share) is logged once, then summarised. */
  private readonly reloadFailures: FailureLog;

  constructor(protected readonly ctx: ProviderContext) {
    this.logger = ctx.logger;
    this.reloadFailures = new FailureLog(ctx.logger, "rereading the root key store");
  }

  /** The stored key ring, or undefined when none exists yet. Errors: one line, no secret. */
  protected abstract loadKeyring(): Promise<Keyring | undefined>;
  /** Persists the ring atomically; "create" throws KeyringExistsError if one appeared meanwhile. */
  protected abstract saveKeyring(ring: Keyring, mode: "create" | "replace"): Promise<void>;
  /** Called once the provider is open (for the provider's own log lines). */
  protected abstract opened(created: boolean): void;

  async open(): Promise<void> {
    if (this.ring) return;
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
    this.install(ring);
    this.lastRefresh = Date.now();
    try {
      this.selfTest();
    } catch (e) {
      await this.close();
      throw e;
    }
    this.opened(created);
  }

  primaryVersion(): number {
    return this.current().primary;
  }

  versions(): number[] {
    return this.current().versions.map((v) => v.version);
  }

  async wrap(key: Buffer, ad: Buffer): Promise<RootWrapped> {
    // Another process sharing the store may have rotated: reread it now and then.
    if (this.current() && Date.now() - this.lastRefresh > RELOAD_MS) await this.reload();
    return this.wrapSync(key, ad);
  }

  async unwrap(wrapped: RootWrapped, ad: Buffer): Promise<Buffer> {
    const ring = this.current();
    const v = wrapped.rootVersion;
    // A newer version than ours: another process sharing the store rotated; reload (at most 1/s).
    if (
      isRootVersion(v) &&
      v > ring.primary &&
      !this.byVersion.has(v) &&
      Date.now() - this.lastUnknownReload > 1000
    ) {
      this.lastUnknownReload = Date.now();
      await this.reload();
    }
    return this.unwrapSync(wrapped, ad);
  }

  rotate(): Promise<number> {
    return this.mutate(async (ring) => {
      const next = newRootKeyVersion(Math.max(...ring.versions.map((v) => v.version)) + 1);
      const updated: Keyring = { primary: next.version, versions: [...ring.versions, next] };
      try {
        await this.saveKeyring(updated, "replace");
      } catch (e) {
        sodium.sodium_memzero(next.key);
        if (isNoSpaceErrno(e)) throw new DiskFullError(e);
        throw new KeyProviderError("could not store the new root key version", e);
      }
      this.install(updated);
      this.logger.info({ provider: this.name, rootVersion: next.version }, "root key rotated");
      return next.version;
    });
  }

  retire(version: number): Promise<void> {
    return this.mutate(async (ring) => {
      const victim = this.byVersion.get(version);
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
      this.install(updated);
      sodium.sodium_memzero(victim.key);
      this.logger.info({ provider: this.name, rootVersion: version }, "root key version retired");
    });
  }

  async ping(): Promise<void> {
    this.current();
  }

  async close(): Promise<void> {
    await this.mutations.catch(() => undefined);
    if (this.ring) zeroKeyring(this.ring);
    this.ring = undefined;
    this.byVersion.clear();
  }

  private current(): Keyring {
    if (!this.ring) throw new KeyProviderError(`the ${this.name} root key provider is not open`);
    return this.ring;
  }

  /** Rereads the store; on failure keeps the keys in memory (the store is checked again later). */
  private async reload(): Promise<void> {
    await this.mutate(async () => undefined).then(
      () => this.reloadFailures.succeeded(),
      (e: unknown) => this.reloadFailures.failed(String(e), { provider: this.name }),
    );
  }

  private async refresh(): Promise<Keyring> {
    this.lastRefresh = Date.now();
    const ring = await this.loadKeyring();
    if (!ring) throw new KeyProviderError(`the ${this.name} root key store has disappeared`);
    const old = this.ring;
    this.install(ring);
    if (old) zeroKeyring(old);
    return ring;
  }

  private install(ring: Keyring): void {
    this.ring = ring;
    this.byVersion = new Map(ring.versions.map((v) => [v.version, v]));
  }

  /** Runs `fn` after earlier mutations, on the ring as stored now (another process may have changed it). */
  private mutate<T>(fn: (ring: Keyring) => Promise<T>): Promise<T> {
    const run = this.mutations.then(async () => {
      this.current();
      return fn(await this.refresh());
    });
    this.mutations = run.catch(() => undefined);
    return run;
  }

  private wrapSync(key: Buffer, ad: Buffer): RootWrapped {
    if (!Buffer.isBuffer(key) || key.length === 0)
      throw new TypeError("wrap: key must be a non-empty Buffer");
    const ring = this.current();
    const root = this.byVersion.get(ring.primary)!;
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

  private unwrapSync(wrapped: RootWrapped, ad: Buffer): Buffer {
    this.current();
    const header = checkHeader(
      wrapped.blob,
      BLOB_XCHACHA20POLY1305,
      wrapped.rootVersion,
      NONCE_BYTES + TAG_BYTES + 1,
    );
    const root = this.byVersion.get(wrapped.rootVersion);
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

  private selfTest(): void {
    const probe = randomBytes(32);
    const ad = randomBytes(16);
    let back: Buffer | undefined;
    try {
      back = this.unwrapSync(this.wrapSync(probe, ad), ad);
      if (!timingSafeEqual(back, probe)) throw new Error("mismatch");
    } catch {
      throw new Error(`${this.name} root key provider failed its self-test (wrap + unwrap)`);
    } finally {
      sodium.sodium_memzero(probe);
      if (back) sodium.sodium_memzero(back);
    }
  }
}
