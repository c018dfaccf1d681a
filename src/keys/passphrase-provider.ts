// Root keys sealed in <dataDir>/root.sealed under a key derived from a passphrase by Argon2id.
// The file records the KDF parameters beside the sealed key ring; they are authenticated as AD,
// so editing them makes the file fail to unseal rather than weakening it.
import fs from "node:fs/promises";
import path from "node:path";
import { sodium } from "../crypto/sodium.js";
import { KeyProviderError } from "../errors.js";
import { readSecretFile, writeSecretFile } from "./key-store-file.js";
import { decodeKeyringBinary, encodeKeyringBinary, type Keyring } from "./keyring.js";
import { LocalRootKeyProvider } from "./local-root-keys.js";
import type { ProviderContext } from "./root-key-provider.js";
import { randomBytes, secretBuffer } from "./sodium-binding.js";

const FORMAT = 1;
const KDF_ALG = "argon2id13";
const SEAL_KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const SEAL_LABEL = Buffer.from("sse-root-seal", "ascii");

/** Measured on a 2-core box: about 0.4 s per open (libsodium's MODERATE: 3 passes over 256 MiB). */
export const DEFAULT_KDF = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE,
};
// Bounds on what a file may ask for, so a damaged or hostile file cannot demand absurd work.
const MAX_OPSLIMIT = 16;
const MAX_MEMLIMIT = 2 * 1024 ** 3;

export interface KdfParams {
  opslimit: number;
  memlimit: number;
  salt: Buffer;
}

interface SealedFile {
  format: number;
  kdf: { alg: string; opslimit: number; memlimit: number; salt: string };
  nonce: string;
  sealed: string;
}

export class PassphraseRootKeyProvider extends LocalRootKeyProvider {
  readonly name = "passphrase";
  readonly path: string;
  readonly #kdf: { opslimit: number; memlimit: number };
  /** The derived sealing key and its parameters, kept to reseal after rotate/retire. */
  #sealing: { key: Buffer; params: KdfParams } | undefined;

  constructor(ctx: ProviderContext, kdf: { opslimit: number; memlimit: number } = DEFAULT_KDF) {
    super(ctx);
    this.path = path.join(ctx.config.dataDir, "root.sealed");
    this.#kdf = kdf;
  }

  protected async loadKeyring(): Promise<Keyring | undefined> {
    const raw = await readSecretFile(this.path);
    if (!raw) return undefined;
    const file = parseSealedFile(raw, this.path);
    const header = sealHeader(file.params);
    const key = this.#reusableSealingKey(file.params) ?? (await this.#deriveKey(file.params));
    const plain = secretBuffer(file.sealed.length - TAG_BYTES);
    try {
      try {
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, file.sealed, header, file.nonce, key);
      } catch {
        throw new Error(`wrong passphrase: cannot unseal ${this.path} (or the file was altered)`);
      }
      const ring = decodeKeyringBinary(plain, `sealed root key file ${this.path}`);
      this.#keepSealingKey(key, file.params);
      return ring;
    } catch (e) {
      sodium.sodium_memzero(key);
      throw e;
    } finally {
      sodium.sodium_memzero(plain);
    }
  }

  protected async saveKeyring(ring: Keyring, mode: "create" | "replace"): Promise<void> {
    if (!this.#sealing) {
      const params: KdfParams = { ...this.#kdf, salt: randomBytes(sodium.crypto_pwhash_SALTBYTES) };
      this.#keepSealingKey(await this.#deriveKey(params), params);
    }
    const { key, params } = this.#sealing!;
    const plain = encodeKeyringBinary(ring);
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = Buffer.alloc(plain.length + TAG_BYTES);
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, plain, sealHeader(params), null, nonce, key);
    } finally {
      sodium.sodium_memzero(plain);
    }
    const doc: SealedFile = {
      format: FORMAT,
      kdf: {
        alg: KDF_ALG,
        opslimit: params.opslimit,
        memlimit: params.memlimit,
        salt: params.salt.toString("base64"),
      },
      nonce: nonce.toString("base64"),
      sealed: sealed.toString("base64"),
    };
    await writeSecretFile(this.path, Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, "utf8"), mode);
  }

  protected opened(created: boolean): void {
    this.logger.info(
      { provider: this.name, path: this.path, created, versions: this.versions() },
      created ? "sealed a new root key with the passphrase" : "unsealed the root keys with the passphrase",
    );
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.#sealing) sodium.sodium_memzero(this.#sealing.key);
    this.#sealing = undefined;
  }

  /** A copy of the kept sealing key when `params` are the ones it was derived with (no KDF rerun). */
  #reusableSealingKey(params: KdfParams): Buffer | undefined {
    const kept = this.#sealing;
    if (
      !kept ||
      kept.params.opslimit !== params.opslimit ||
      kept.params.memlimit !== params.memlimit ||
      !kept.params.salt.equals(params.salt)
    )
      return undefined;
    const copy = secretBuffer(SEAL_KEY_BYTES);
    kept.key.copy(copy);
    return copy;
  }

  #keepSealingKey(key: Buffer, params: KdfParams): void {
    if (this.#sealing) sodium.sodium_memzero(this.#sealing.key);
    this.#sealing = { key, params };
  }

  async #deriveKey(params: KdfParams): Promise<Buffer> {
    const passphrase = await this.#readPassphrase();
    const key = secretBuffer(SEAL_KEY_BYTES);
    try {
      await sodium.crypto_pwhash_async(
        key,
        passphrase,
        params.salt,
        params.opslimit,
        params.memlimit,
        sodium.crypto_pwhash_ALG_ARGON2ID13,
      );
    } catch (e) {
      sodium.sodium_memzero(key);
      throw new KeyProviderError("could not derive the sealing key from the passphrase", e);
    } finally {
      sodium.sodium_memzero(passphrase);
    }
    return key;
  }

  /** SSE_PASSPHRASE, else the first line of SSE_PASSPHRASE_FILE (line ending stripped). */
  async #readPassphrase(): Promise<Buffer> {
    const { passphrase, passphraseFile } = this.ctx.config;
    let out: Buffer;
    if (passphrase !== undefined) {
      out = secretBuffer(Buffer.byteLength(passphrase, "utf8"));
      out.write(passphrase, "utf8");
    } else if (passphraseFile !== undefined) {
      let raw: Buffer;
      try {
        if (((await fs.stat(passphraseFile)).mode & 0o077) !== 0)
          this.logger.warn({ path: passphraseFile }, "the passphrase file is readable by group or others");
        raw = await fs.readFile(passphraseFile);
      } catch (e) {
        throw new Error(
          `cannot read the passphrase file ${passphraseFile}: ${(e as NodeJS.ErrnoException).code}`,
        );
      }
      let end = raw.indexOf(0x0a);
      if (end < 0) end = raw.length;
      if (end > 0 && raw[end - 1] === 0x0d) end--;
      out = secretBuffer(end);
      raw.copy(out, 0, 0, end);
      sodium.sodium_memzero(raw);
    } else {
      throw new Error("the passphrase provider needs SSE_PASSPHRASE or SSE_PASSPHRASE_FILE");
    }
    if (out.length === 0) throw new Error("the passphrase is empty");
    return out;
  }
}

function sealHeader(p: KdfParams): Buffer {
  const h = Buffer.alloc(SEAL_LABEL.length + 1 + 4 + 8 + p.salt.length);
  let off = SEAL_LABEL.copy(h, 0);
  off = h.writeUInt8(FORMAT, off);
  off = h.writeUInt32BE(p.opslimit, off);
  off = h.writeBigUInt64BE(BigInt(p.memlimit), off);
  p.salt.copy(h, off);
  return h;
}

function parseSealedFile(raw: Buffer, file: string): { params: KdfParams; nonce: Buffer; sealed: Buffer } {
  const bad = (why: string) => new Error(`sealed root key file ${file} is not valid: ${why}`);
  let doc: SealedFile;
  try {
    doc = JSON.parse(raw.toString("utf8")) as SealedFile;
  } catch {
    throw bad("not JSON");
  }
  if (typeof doc !== "object" || doc === null) throw bad("not a JSON object");
  if (doc.format !== FORMAT) throw bad(`unsupported format ${JSON.stringify(doc.format)}`);
  const kdf = doc.kdf;
  if (typeof kdf !== "object" || kdf === null || kdf.alg !== KDF_ALG) throw bad(`KDF must be ${KDF_ALG}`);
  const { opslimit, memlimit } = kdf;
  if (
    !Number.isSafeInteger(opslimit) ||
    opslimit < sodium.crypto_pwhash_OPSLIMIT_MIN ||
    opslimit > MAX_OPSLIMIT ||
    !Number.isSafeInteger(memlimit) ||
    memlimit < sodium.crypto_pwhash_MEMLIMIT_MIN ||
    memlimit > MAX_MEMLIMIT
  )
    throw bad("KDF parameters out of range");
  const salt = strictBase64(kdf.salt);
  const nonce = strictBase64(doc.nonce);
  const sealed = strictBase64(doc.sealed);
  if (salt?.length !== sodium.crypto_pwhash_SALTBYTES) throw bad("bad salt");
  if (nonce?.length !== NONCE_BYTES) throw bad("bad nonce");
  if (!sealed || sealed.length <= TAG_BYTES) throw bad("bad sealed key ring");
  return { params: { opslimit, memlimit, salt }, nonce, sealed };
}

function strictBase64(text: unknown): Buffer | undefined {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    return undefined;
  return Buffer.from(text, "base64");
}
