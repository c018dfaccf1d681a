// The MAC of download links: keyed BLAKE2b-256 under a subkey derived from the owner's KEK, so a
// link needs no key of its own, dies with the owner's key, and no KEK byte ever leaves this call.

import { KEY_BYTES } from "./envelope.js";
import { sodium } from "./sodium.js";

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
