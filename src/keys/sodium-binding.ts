// sodium-native ships no type declarations; this types the few functions the key providers use,
// loaded through createRequire so no ambient `declare module` can clash with another file's.
import { createRequire } from "node:module";

export interface SodiumKeyApi {
  readonly crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
  readonly crypto_pwhash_ALG_ARGON2ID13: number;
  readonly crypto_pwhash_SALTBYTES: number;
  readonly crypto_pwhash_OPSLIMIT_MIN: number;
  readonly crypto_pwhash_MEMLIMIT_MIN: number;
  readonly crypto_pwhash_OPSLIMIT_MODERATE: number;
  readonly crypto_pwhash_MEMLIMIT_MODERATE: number;
  /** Returns the ciphertext length; throws on failure. */
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Buffer,
    m: Buffer,
    ad: Buffer | null,
    nsec: null,
    npub: Buffer,
    k: Buffer,
  ): number;
  /** Returns the plaintext length; throws when the tag does not verify. */
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Buffer,
    nsec: null,
    c: Buffer,
    ad: Buffer | null,
    npub: Buffer,
    k: Buffer,
  ): number;
  crypto_pwhash_async(
    out: Buffer,
    passwd: Buffer,
    salt: Buffer,
    opslimit: number,
    memlimit: number,
    alg: number,
  ): Promise<void>;
  randombytes_buf(buf: Buffer): void;
  sodium_memzero(buf: Buffer): void;
  /** Guarded, mlock'ed memory for key material. */
  sodium_malloc(size: number): Buffer;
}

export const sodium = createRequire(import.meta.url)("sodium-native") as SodiumKeyApi;

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium.randombytes_buf(b);
  return b;
}

/** A fresh key in guarded memory (zero it with sodium_memzero when dropped). */
export function secretBuffer(n: number): Buffer {
  return sodium.sodium_malloc(n);
}
