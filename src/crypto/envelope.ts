// Key wrapping: a DEK (or an access key's secret) under one version of its owner's KEK, and a KEK
// version under the root key.
// Byte layout and rationale: docs/FORMAT.md, "Wrapped keys".

import { IntegrityError } from "../errors.js";
import { sodium } from "./sodium.js";

export const KEY_BYTES = 32;
export const WRAP_FORMAT_VERSION = 1;
export const WRAP_SUITE_XCHACHA20_POLY1305 = 1;
export const WRAP_HEADER_BYTES = 6;
export const WRAP_NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** Every wrapped key has this exact length: header ‖ nonce ‖ 32-byte ciphertext ‖ tag. */
export const WRAPPED_KEY_BYTES = WRAP_HEADER_BYTES + WRAP_NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const MAX_U32 = 0xffffffff;
const WRITE_ID_BYTES = 16;

export function generateKey(): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  sodium.randombytes_buf(key);
  return key;
}

export function zeroize(buf: Buffer): void {
  sodium.sodium_memzero(buf);
}

/**
 * Unambiguous encoding of a list of fields: each is u32be byte length ‖ bytes (strings as UTF-8).
 * The segment AD prefix and the wrap contexts all use this one rule.
 */
export function lengthPrefixed(fields: ReadonlyArray<string | Buffer>): Buffer {
  let total = 0;
  for (const f of fields) total += 4 + (typeof f === "string" ? Buffer.byteLength(f, "utf8") : f.length);
  // One pooled allocation, every byte written below: this runs on every object read.
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const f of fields) {
    if (typeof f === "string") {
      const n = Buffer.byteLength(f, "utf8");
      at = out.writeUInt32BE(n, at);
      at += out.write(f, at, n, "utf8");
    } else {
      at = out.writeUInt32BE(f.length, at);
      at += f.copy(out, at);
    }
  }
  return out;
}

export function u8(n: number): Buffer {
  const b = Buffer.allocUnsafe(1);
  b.writeUInt8(n);
  return b;
}

export function u32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function checkU32(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw new RangeError(`${name} must be a u32`);
}

function checkKek(kek: Buffer): void {
  // A wrong-size KEK is a programming error, not tampered data, so it is not an IntegrityError.
  if (kek.length !== KEY_BYTES) throw new RangeError(`kek must be ${KEY_BYTES} bytes`);
}

function header(kekVersion: number): Buffer {
  const h = Buffer.alloc(WRAP_HEADER_BYTES);
  h[0] = WRAP_FORMAT_VERSION;
  h[1] = WRAP_SUITE_XCHACHA20_POLY1305;
  h.writeUInt32BE(kekVersion, 2);
  return h;
}

/**
 * @internal The deterministic core of wrapKey; exported only so that the published test vector can
 * be reproduced. Never call it with a nonce that is not fresh and random.
 */
export function wrapKeyWithNonce(
  kek: Buffer,
  kekVersion: number,
  key: Buffer,
  context: Buffer,
  nonce: Buffer,
): Buffer {
  checkKek(kek);
  checkU32("kekVersion", kekVersion);
  if (key.length !== KEY_BYTES) throw new RangeError(`wrapped keys must be ${KEY_BYTES} bytes`);
  if (nonce.length !== WRAP_NONCE_BYTES) throw new RangeError(`nonce must be ${WRAP_NONCE_BYTES} bytes`);
  const blob = Buffer.alloc(WRAPPED_KEY_BYTES);
  const h = header(kekVersion);
  h.copy(blob, 0);
  nonce.copy(blob, WRAP_HEADER_BYTES);
  // The header is in the AD so the KEK version a blob names is authenticated, not just advisory.
  const ad = Buffer.concat([h, context]);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    blob.subarray(WRAP_HEADER_BYTES + WRAP_NONCE_BYTES),
    key,
    ad,
    null,
    nonce,
    kek,
  );
  return blob;
}

export function wrapKey(kek: Buffer, kekVersion: number, key: Buffer, context: Buffer): Buffer {
  const nonce = Buffer.alloc(WRAP_NONCE_BYTES);
  sodium.randombytes_buf(nonce);
  return wrapKeyWithNonce(kek, kekVersion, key, context, nonce);
}

function checkHeader(blob: Buffer): void {
  if (blob.length !== WRAPPED_KEY_BYTES) throw new IntegrityError("wrapped key has the wrong length");
  if (blob[0] !== WRAP_FORMAT_VERSION) throw new IntegrityError("wrapped key has an unknown format version");
  if (blob[1] !== WRAP_SUITE_XCHACHA20_POLY1305) throw new IntegrityError("wrapped key has an unknown suite");
}

export function wrappedKeyVersion(blob: Buffer): number {
  checkHeader(blob);
  return blob.readUInt32BE(2);
}

export function unwrapKey(kek: Buffer, blob: Buffer, context: Buffer): Buffer {
  checkKek(kek);
  checkHeader(blob);
  const ad = Buffer.concat([blob.subarray(0, WRAP_HEADER_BYTES), context]);
  const nonce = blob.subarray(WRAP_HEADER_BYTES, WRAP_HEADER_BYTES + WRAP_NONCE_BYTES);
  const key = Buffer.alloc(KEY_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      key,
      null,
      blob.subarray(WRAP_HEADER_BYTES + WRAP_NONCE_BYTES),
      ad,
      nonce,
      kek,
    );
  } catch {
    zeroize(key);
    throw new IntegrityError("wrapped key failed authentication");
  }
  return key;
}

export function dekContext(owner: string, objectId: string, writeId: Buffer): Buffer {
  if (writeId.length !== WRITE_ID_BYTES) throw new RangeError(`writeId must be ${WRITE_ID_BYTES} bytes`);
  return lengthPrefixed(["sse-store/dek/v1", owner, objectId, writeId]);
}

/** The context of an S3 access key's secret, wrapped like a DEK under a version of its owner's KEK. */
export function accessKeyContext(owner: string, accessKeyId: string): Buffer {
  return lengthPrefixed(["sse-store/access-key/v1", owner, accessKeyId]);
}

export function kekContext(owner: string, kekVersion: number): Buffer {
  checkU32("kekVersion", kekVersion);
  return lengthPrefixed(["sse-store/kek/v1", owner, u32be(kekVersion)]);
}
