// The two AEADs a segment can be sealed with, behind the format's suite byte (docs/FORMAT.md,
// "Suites"): XChaCha20-Poly1305 from libsodium (suite 1) and AES-256-GCM from OpenSSL through
// node:crypto (suite 2), and suite 2's per-write key. segment-format.ts owns the layout, nonces and
// associated data; this file only runs the primitive on the bytes it is given.
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { sodium } from "./sodium.js";

export const TAG_BYTES = 16;
export const XCHACHA_NONCE_BYTES = 24;
export const GCM_NONCE_BYTES = 12;
/** Suite 2's key derivation label (docs/FORMAT.md, "Suite 2: AES-256-GCM"). */
const GCM_KEY_LABEL = Buffer.from("sse-store/segment-key", "ascii");

export interface SegmentAead {
  readonly nonceBytes: number;
  /** ciphertext ‖ tag of `plaintext` into `out`, which is exactly plaintext.length + TAG_BYTES long. */
  seal(out: Buffer, plaintext: Buffer, ad: Buffer, nonce: Buffer, key: Buffer): void;
  /**
   * The plaintext of `sealed` into `out` (exactly sealed.length - TAG_BYTES long; it may be the
   * first bytes of `sealed` itself), written only once the tag verified. False when it did not;
   * `out` then holds zeros, never unauthenticated bytes.
   */
  open(out: Buffer, sealed: Buffer, ad: Buffer, nonce: Buffer, key: Buffer): boolean;
}

export const XCHACHA20_POLY1305: SegmentAead = {
  nonceBytes: XCHACHA_NONCE_BYTES,
  seal(out, plaintext, ad, nonce, key) {
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key);
  },
  open(out, sealed, ad, nonce, key) {
    try {
      // libsodium checks the tag before it decrypts, so `out` may overlap `sealed` (m = c).
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, key);
      return true;
    } catch {
      // libsodium zeroes the output on failure; this repeats it for any binding that would not.
      out.fill(0);
      return false;
    }
  },
};

/**
 * node:crypto has no way to reset a context with a new IV, nor to decrypt into a given buffer: each
 * segment costs a context (about 2.5 µs) and its output a buffer, copied into `out` (measured in
 * docs/FORMAT.md: both together under 15 % of a 64 KiB segment's time).
 */
export const AES_256_GCM: SegmentAead = {
  nonceBytes: GCM_NONCE_BYTES,
  seal(out, plaintext, ad, nonce, key) {
    const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    c.setAAD(ad);
    const body = c.update(plaintext);
    c.final();
    body.copy(out, 0);
    c.getAuthTag().copy(out, body.length);
  },
  open(out, sealed, ad, nonce, key) {
    const n = sealed.length - TAG_BYTES;
    // An explicit tag length: without it node:crypto would accept a truncated tag.
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    d.setAAD(ad);
    d.setAuthTag(sealed.subarray(n));
    const plain = d.update(sealed.subarray(0, n));
    try {
      d.final();
    } catch {
      plain.fill(0);
      out.fill(0);
      return false;
    }
    // Only now, authenticated, does a byte of it reach `out` (which may be `sealed` itself, and
    // shared memory on the AEAD thread).
    copyBytes(plain, out);
    return true;
  },
};

/**
 * Copies `from` into `to` (same length). Buffer#copy into or out of shared memory goes through
 * V8's element-wise copy for shared buffers, 40% slower per MiB than the plain memcpy that
 * Buffer#fill makes of a buffer exactly as long as the range it fills.
 */
export function copyBytes(from: Buffer, to: Buffer): void {
  if (from.length !== to.length) throw new RangeError("copyBytes needs equal lengths");
  if (from.length > 0) to.fill(from);
}

/**
 * Suite 2's key for the segments of one write (or one part write): HKDF-Expand-SHA256 (RFC 5869,
 * the extract step skipped because the DEK is already a uniformly random key) of the DEK, with the
 * label and the write's 32-byte associated-data prefix as info. The caller zeroes it.
 */
export function gcmSegmentKey(dek: Buffer, adPrefix: Buffer): Buffer {
  return createHmac("sha256", dek).update(GCM_KEY_LABEL).update(adPrefix).update(Buffer.of(1)).digest();
}
