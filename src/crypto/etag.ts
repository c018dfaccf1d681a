// Strong ETags computed with a key derived from the object's DEK, so an ETag reveals nothing about
// the content (not even equality across writes) to anyone without the key. See docs/FORMAT.md.

import { KEY_BYTES } from "./envelope.js";
import { sodium } from "./sodium.js";

const ETAG_KDF_CONTEXT = Buffer.from("sse-etag", "ascii");
const ETAG_KDF_SUBKEY_ID = 1;
const ETAG_DIGEST_BYTES = 16;
export const ETAG_PREFIX = "k1-";
const ETAG_PATTERN = /^"k1-[A-Za-z0-9_-]{22}"$/;

export class EtagHasher {
  readonly #state: Buffer;
  #done = false;

  constructor(dek: Buffer) {
    if (dek.length !== KEY_BYTES) throw new RangeError(`dek must be ${KEY_BYTES} bytes`);
    const subkey = Buffer.alloc(KEY_BYTES);
    sodium.crypto_kdf_derive_from_key(subkey, ETAG_KDF_SUBKEY_ID, ETAG_KDF_CONTEXT, dek);
    this.#state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES);
    sodium.crypto_generichash_init(this.#state, subkey, ETAG_DIGEST_BYTES);
    sodium.sodium_memzero(subkey);
  }

  update(plaintext: Buffer): void {
    if (this.#done) throw new Error("EtagHasher: update after digest");
    sodium.crypto_generichash_update(this.#state, plaintext);
  }

  /** The quoted strong ETag, e.g. `"k1-…"`; callable once. */
  digest(): string {
    if (this.#done) throw new Error("EtagHasher: digest called twice");
    this.#done = true;
    const out = Buffer.alloc(ETAG_DIGEST_BYTES);
    sodium.crypto_generichash_final(this.#state, out);
    sodium.sodium_memzero(this.#state);
    return `"${ETAG_PREFIX}${out.toString("base64url")}"`;
  }
}

/** True for an ETag this server could have produced (quoted, not weak). */
export function isValidEtag(s: string): boolean {
  return ETAG_PATTERN.test(s);
}
