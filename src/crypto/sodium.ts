// The one typed binding of sodium-native (it ships no type declarations): only the functions and
// constants this project uses are declared, once, for crypto/, keys/ and the benchmarks.
import { createRequire } from "node:module";

export interface Sodium {
  readonly crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
  readonly crypto_pwhash_ALG_ARGON2ID13: number;
  readonly crypto_pwhash_SALTBYTES: number;
  readonly crypto_pwhash_OPSLIMIT_MIN: number;
  readonly crypto_pwhash_MEMLIMIT_MIN: number;
  readonly crypto_pwhash_OPSLIMIT_MODERATE: number;
  readonly crypto_pwhash_MEMLIMIT_MODERATE: number;
  readonly crypto_generichash_STATEBYTES: number;
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
  crypto_generichash(output: Buffer, input: Buffer, key?: Buffer): void;
  crypto_generichash_init(state: Buffer, key: Buffer, outputLength: number): void;
  crypto_generichash_update(state: Buffer, input: Buffer): void;
  crypto_generichash_final(state: Buffer, output: Buffer): void;
  crypto_kdf_derive_from_key(subkey: Buffer, subkeyId: number, ctx: Buffer, key: Buffer): void;
  readonly crypto_sign_PUBLICKEYBYTES: number;
  readonly crypto_sign_SECRETKEYBYTES: number;
  readonly crypto_sign_SEEDBYTES: number;
  readonly crypto_sign_BYTES: number;
  crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void;
  crypto_sign_detached(sig: Buffer, m: Buffer, sk: Buffer): void;
  /** False when the signature does not verify. */
  crypto_sign_verify_detached(sig: Buffer, m: Buffer, pk: Buffer): boolean;
  randombytes_buf(buf: Buffer): void;
  sodium_memzero(buf: Buffer): void;
  /** Guarded, mlock'ed memory for key material. */
  sodium_malloc(size: number): Buffer;
}

export const sodium = createRequire(import.meta.url)("sodium-native") as Sodium;
