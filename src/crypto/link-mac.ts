// The MAC of download links: keyed BLAKE2b-256 under a subkey derived from the owner's KEK, so a
// link needs no key of its own, dies with the owner's key, and no KEK byte ever leaves this call.
import { createRequire } from "node:module";
import { KEY_BYTES } from "./envelope.js";

interface Sodium {
  sodium_memzero(buf: Buffer): void;
  crypto_kdf_derive_from_key(subkey: Buffer, subkeyId: number, ctx: Buffer, key: Buffer): void;
  crypto_generichash(output: Buffer, input: Buffer, key?: Buffer): void;
}

// sodium-native ships no type declarations; only the functions used here are typed.
const sodium = createRequire(import.meta.url)("sodium-native") as Sodium;

/** crypto_kdf contexts are exactly 8 bytes; distinct from the ETag's "sse-etag". */
const LINK_KDF_CONTEXT = Buffer.from("sse-link", "ascii");
const LINK_KDF_SUBKEY_ID = 1;
export const LINK_MAC_BYTES = 32;

/** MAC of `message` under the link subkey of `kek`. */
export function linkMac(kek: Buffer, message: Buffer): Buffer {
  if (kek.length !== KEY_BYTES) throw new RangeError(`kek must be ${KEY_BYTES} bytes`);
  const subkey = Buffer.alloc(KEY_BYTES);
  try {
    sodium.crypto_kdf_derive_from_key(subkey, LINK_KDF_SUBKEY_ID, LINK_KDF_CONTEXT, kek);
    const out = Buffer.alloc(LINK_MAC_BYTES);
    sodium.crypto_generichash(out, message, subkey);
    return out;
  } finally {
    sodium.sodium_memzero(subkey);
  }
}
