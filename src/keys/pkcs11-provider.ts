// Root keys as non-extractable AES-256 objects in a PKCS#11 token (an HSM, or SoftHSM2 in tests):
// labelled <pkcs11KeyLabel>-v<N>, the highest N is primary. Caller keys are sealed with CKM_AES_GCM
// through C_Encrypt/C_Decrypt, so key bytes of the root never exist outside the token. The session
// below them (module, slot, login) is pkcs11-session.ts.
import pkcs11js from "pkcs11js";
import { sodium } from "../crypto/sodium.js";
import { AppError, IntegrityError, KeyProviderError } from "../errors.js";
import {
  checkLoggedIn,
  ckr,
  closeSession,
  describeFailure,
  type Handle,
  openSession,
  type Session,
  slotId,
  tokenLabel,
} from "./pkcs11-session.js";
import type { ProviderContext, RootKeyProvider, RootWrapped } from "./root-key-provider.js";
import {
  associatedData,
  BLOB_AES256GCM_PKCS11,
  checkHeader,
  encodeHeader,
  HEADER_BYTES,
  isRootVersion,
} from "./root-wrap-format.js";
import { randomBytes } from "./sodium-binding.js";

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** How stale this process's view of the token's root key versions may get before a wrap. */
const RELIST_MS = 30_000;
// What a token may answer when the ciphertext or tag does not verify. SoftHSM2 says
// CKR_GENERAL_ERROR, which a failing device could also say: that case is decided by a health probe.
const DATA_REJECTED = new Set([pkcs11js.CKR_ENCRYPTED_DATA_INVALID, pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE]);
const MAYBE_DATA_REJECTED = new Set([pkcs11js.CKR_GENERAL_ERROR, pkcs11js.CKR_FUNCTION_FAILED]);

export class Pkcs11RootKeyProvider implements RootKeyProvider {
  readonly name = "pkcs11";
  #session: Session | undefined;
  #keys = new Map<number, Handle>();
  #listedAt = 0;
  /** One session cannot run two operations at once: every call on it goes through this queue. */
  #queue: Promise<unknown> = Promise.resolve();

  readonly #ctx: ProviderContext;

  constructor(ctx: ProviderContext) {
    this.#ctx = ctx;
  }

  async open(): Promise<void> {
    if (this.#session) return;
    const s = await openSession(this.#ctx.config);
    try {
      this.#session = s;
      this.#relist();
      let created = false;
      if (this.#keys.size === 0) {
        this.#keys.set(1, await this.#generateKey(1));
        created = true;
      }
      await this.#selfTest();
      this.#ctx.logger.info(
        {
          provider: this.name,
          token: tokenLabel(s),
          slot: slotId(s.slot),
          versions: this.versions(),
          created,
        },
        "PKCS#11 root key provider ready",
      );
    } catch (e) {
      this.#session = undefined;
      this.#keys.clear();
      closeSession(s);
      throw e;
    }
  }

  primaryVersion(): number {
    this.#current();
    return Math.max(...this.#keys.keys());
  }

  versions(): number[] {
    this.#current();
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  wrap(key: Buffer, ad: Buffer): Promise<RootWrapped> {
    if (!Buffer.isBuffer(key) || key.length === 0)
      return Promise.reject(new TypeError("wrap: key must be a non-empty Buffer"));
    return this.#serial(async (s) => {
      // Another instance may have rotated: look at the token's versions now and then.
      if (Date.now() - this.#listedAt > RELIST_MS) this.#relistOrKeep();
      const version = this.primaryVersion();
      const header = encodeHeader(BLOB_AES256GCM_PKCS11, version);
      const iv = randomBytes(IV_BYTES);
      let sealed: Buffer;
      try {
        s.module.lib.C_EncryptInit(
          s.handle,
          this.#gcm(iv, associatedData(header, ad)),
          this.#keys.get(version)!,
        );
        sealed = await s.module.lib.C_EncryptAsync(s.handle, key, Buffer.alloc(key.length + TAG_BYTES));
      } catch (e) {
        throw this.#deviceError("C_Encrypt", e);
      }
      return { rootVersion: version, blob: Buffer.concat([header, iv, sealed]) };
    });
  }

  unwrap(wrapped: RootWrapped, ad: Buffer): Promise<Buffer> {
    return this.#serial(async (s) => {
      const header = checkHeader(
        wrapped.blob,
        BLOB_AES256GCM_PKCS11,
        wrapped.rootVersion,
        IV_BYTES + TAG_BYTES + 1,
      );
      const key = this.#keys.get(wrapped.rootVersion) ?? this.#rediscover(wrapped.rootVersion);
      if (!key) throw new IntegrityError("root-wrapped key names an unknown or retired root key version");
      const iv = wrapped.blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
      const body = wrapped.blob.subarray(HEADER_BYTES + IV_BYTES);
      try {
        s.module.lib.C_DecryptInit(s.handle, this.#gcm(iv, associatedData(header, ad)), key);
      } catch (e) {
        throw this.#deviceError("C_DecryptInit", e);
      }
      const out = Buffer.alloc(body.length);
      try {
        const plain = await s.module.lib.C_DecryptAsync(s.handle, body, out);
        return Buffer.from(plain);
      } catch (e) {
        const code = ckr(e);
        if (code !== undefined && DATA_REJECTED.has(code))
          throw new IntegrityError("root-wrapped key failed authentication");
        if (code !== undefined && MAYBE_DATA_REJECTED.has(code) && (await this.#healthy(s, key)))
          throw new IntegrityError("root-wrapped key failed authentication");
        throw this.#deviceError("C_Decrypt", e);
      } finally {
        sodium.sodium_memzero(out);
      }
    });
  }

  rotate(): Promise<number> {
    return this.#serial(async () => {
      this.#relist();
      const next = Math.max(0, ...this.#keys.keys()) + 1;
      this.#keys.set(next, await this.#generateKey(next));
      this.#ctx.logger.info({ provider: this.name, rootVersion: next }, "root key rotated");
      return next;
    });
  }

  retire(version: number): Promise<void> {
    return this.#serial(async (s) => {
      this.#relist();
      const key = this.#keys.get(version);
      if (!key) throw new AppError("not_found", `root key version ${version} does not exist`);
      if (version === this.primaryVersion())
        throw new AppError("conflict", `root key version ${version} is primary and cannot be retired`);
      try {
        s.module.lib.C_DestroyObject(s.handle, key);
      } catch (e) {
        throw this.#deviceError("C_DestroyObject", e);
      }
      this.#keys.delete(version);
      this.#ctx.logger.info({ provider: this.name, rootVersion: version }, "root key version retired");
    });
  }

  ping(): Promise<void> {
    return this.#serial(async (s) => {
      try {
        checkLoggedIn(s);
      } catch (e) {
        throw this.#deviceError("C_GetSessionInfo", e);
      }
    });
  }

  async close(): Promise<void> {
    const s = this.#session;
    if (!s) return;
    await this.#queue.catch(() => undefined);
    this.#session = undefined;
    this.#keys.clear();
    closeSession(s);
  }

  #current(): Session {
    if (!this.#session) throw new KeyProviderError("the pkcs11 root key provider is not open");
    return this.#session;
  }

  #serial<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => fn(this.#current()));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #deviceError(call: string, e: unknown): KeyProviderError {
    const err = new KeyProviderError("the key provider is unavailable", e);
    this.#ctx.logger.error({ provider: this.name, call, error: describeFailure(e) }, "PKCS#11 call failed");
    return err;
  }

  #gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
    const parameter: pkcs11js.AesGCM = {
      type: pkcs11js.CK_PARAMS_AES_GCM,
      iv,
      aad,
      ivBits: IV_BYTES * 8,
      tagBits: TAG_BYTES * 8,
    };
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
  }

  #labelPattern(): RegExp {
    const prefix = this.#ctx.config.pkcs11KeyLabel.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`^${prefix}-v([1-9][0-9]{0,9})$`);
  }

  /** Every root key object on the token, by version; refuses ambiguous or unusable ones. */
  #findKeys(): Map<number, Handle> {
    const s = this.#current();
    const lib = s.module.lib;
    const found = new Map<number, Handle>();
    const pattern = this.#labelPattern();
    let handles: Handle[] = [];
    try {
      lib.C_FindObjectsInit(s.handle, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_TOKEN, value: true },
      ]);
      try {
        for (
          let batch = lib.C_FindObjects(s.handle, 64);
          batch.length > 0;
          batch = lib.C_FindObjects(s.handle, 64)
        )
          handles = handles.concat(batch);
      } finally {
        lib.C_FindObjectsFinal(s.handle);
      }
    } catch (e) {
      throw new KeyProviderError(`could not list the PKCS#11 root keys: ${describeFailure(e)}`, e);
    }
    for (const h of handles) {
      const attrs = this.#attributes(h, [
        { type: pkcs11js.CKA_LABEL },
        { type: pkcs11js.CKA_VALUE_LEN },
        { type: pkcs11js.CKA_ENCRYPT },
        { type: pkcs11js.CKA_DECRYPT },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
      ]);
      const [label, len, enc, dec, sensitive, extractable] = attrs.map((a) => a.value);
      const m = pattern.exec(label?.toString("utf8") ?? "");
      if (!m) continue;
      const version = Number(m[1]);
      const name = `${this.#ctx.config.pkcs11KeyLabel}-v${version}`;
      if (!isRootVersion(version)) continue;
      if (found.has(version)) throw new Error(`two PKCS#11 key objects are labelled ${name}; remove one`);
      if (len?.readUIntLE(0, Math.min(len.length, 6)) !== KEY_BYTES || !enc?.[0] || !dec?.[0])
        throw new Error(`PKCS#11 key ${name} is not an AES-256 key allowed to encrypt and decrypt`);
      if (!sensitive?.[0] || extractable?.[0])
        this.#ctx.logger.warn(
          { provider: this.name, key: name },
          "PKCS#11 root key is extractable or not sensitive",
        );
      found.set(version, h);
    }
    return found;
  }

  #relist(): void {
    this.#keys = this.#findKeys();
    this.#listedAt = Date.now();
  }

  /** On a failed periodic listing, keeps using the versions known so far (and says so). */
  #relistOrKeep(): void {
    try {
      this.#relist();
    } catch (e) {
      this.#listedAt = Date.now();
      this.#ctx.logger.warn(
        { provider: this.name, error: describeFailure(e) },
        "could not list the PKCS#11 root keys",
      );
    }
  }

  #attributes(h: Handle, template: pkcs11js.Template): pkcs11js.TemplateResult {
    const s = this.#current();
    try {
      return s.module.lib.C_GetAttributeValue(s.handle, h, template);
    } catch (e) {
      throw new KeyProviderError(`could not read the PKCS#11 root key attributes: ${describeFailure(e)}`, e);
    }
  }

  /** A version another process created after we opened (it rotated): look it up once. */
  #rediscover(version: number): Handle | undefined {
    if (version <= this.primaryVersion()) return undefined;
    this.#relist();
    return this.#keys.get(version);
  }

  async #generateKey(version: number): Promise<Handle> {
    const s = this.#current();
    const label = `${this.#ctx.config.pkcs11KeyLabel}-v${version}`;
    const id = Buffer.alloc(4);
    id.writeUInt32BE(version);
    try {
      return await s.module.lib.C_GenerateKeyAsync(s.handle, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: KEY_BYTES },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_SIGN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: false },
        { type: pkcs11js.CKA_DERIVE, value: false },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_ID, value: id },
      ]);
    } catch (e) {
      throw new KeyProviderError(`could not create the PKCS#11 root key ${label}: ${describeFailure(e)}`, e);
    }
  }

  /** Encrypt + decrypt a probe under `key`: tells a rejected ciphertext from a failing device. */
  async #healthy(s: Session, key: Handle): Promise<boolean> {
    try {
      const iv = randomBytes(IV_BYTES);
      const probe = randomBytes(16);
      const mech = this.#gcm(iv, Buffer.alloc(0));
      s.module.lib.C_EncryptInit(s.handle, mech, key);
      const ct = await s.module.lib.C_EncryptAsync(s.handle, probe, Buffer.alloc(probe.length + TAG_BYTES));
      s.module.lib.C_DecryptInit(s.handle, mech, key);
      const back = await s.module.lib.C_DecryptAsync(s.handle, ct, Buffer.alloc(ct.length));
      return back.equals(probe);
    } catch {
      return false;
    }
  }

  async #selfTest(): Promise<void> {
    const probe = randomBytes(32);
    const ad = randomBytes(16);
    let back: Buffer | undefined;
    try {
      back = await this.unwrap(await this.wrap(probe, ad), ad);
      if (!back.equals(probe)) throw new Error("mismatch");
    } catch (e) {
      throw new Error(`pkcs11 root key provider failed its self-test (wrap + unwrap): ${describeFailure(e)}`);
    } finally {
      sodium.sodium_memzero(probe);
      if (back) sodium.sodium_memzero(back);
    }
  }
}
