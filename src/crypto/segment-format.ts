// The segmented AEAD that stores object data (a STREAM construction over XChaCha20-Poly1305 or
// AES-256-GCM). Every byte is specified in docs/FORMAT.md, "Segments"; change both together.

import { IntegrityError } from "../errors.js";
import { KEY_BYTES, lengthPrefixed, u8, u32be, zeroize } from "./envelope.js";
import {
  AES_256_GCM,
  GCM_NONCE_BYTES,
  gcmSegmentKey,
  type SegmentAead,
  TAG_BYTES,
  XCHACHA_NONCE_BYTES,
  XCHACHA20_POLY1305,
} from "./segment-aead.js";
import { sodium } from "./sodium.js";

export const FORMAT_VERSION = 1;
/** The segments of one part of a multipart object: the AD also binds the upload and part number. */
export const FORMAT_VERSION_PART = 2;
/** Part numbers, as S3 numbers them. */
export const MAX_PART_NUMBER = 10_000;
export const SUITE_XCHACHA20_POLY1305 = 1;
/** AES-256-GCM under a key derived per write (docs/FORMAT.md, "Suite 2: AES-256-GCM"). */
export const SUITE_AES256GCM = 2;
export const SEGMENT_SIZE = 65536;
export { GCM_NONCE_BYTES, TAG_BYTES };
/** Smallest and largest segment sizes a context may name. */
export const MIN_SEGMENT_SIZE = 16;
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** Segment indexes are u32, so an object has at most 2^32 segments. */
export const MAX_SEGMENT_INDEX = 0xffffffff;
export const WRITE_ID_BYTES = 16;
/** The longest nonce of any suite (XChaCha20-Poly1305's); AES-256-GCM's is GCM_NONCE_BYTES. */
export const NONCE_BYTES = XCHACHA_NONCE_BYTES;
const AD_DIGEST_BYTES = 32;
/** Associated data of one segment: the per-object digest ‖ u32be index ‖ last flag. */
export const AD_BYTES = AD_DIGEST_BYTES + 4 + 1;
const SEGMENT_MAGIC = "sse-store/segment";
const PART_MAGIC = "sse-store/part";

export interface SegmentContext {
  formatVersion: number;
  suite: number;
  segmentSize: number;
  owner: string;
  objectId: string;
  /** 16 bytes, unique per write (for a part: per upload of that part). */
  writeId: Buffer;
  /** Format version 2 only: the multipart upload and place in it that this part write belongs to. */
  part?: PartBinding;
}

export interface PartBinding {
  /** The write id of the multipart object (its upload), which every part of it names. */
  uploadWriteId: Buffer;
  /** 1 … MAX_PART_NUMBER. */
  number: number;
}

export interface SegmentCipher {
  /** The suite this cipher seals and opens with. */
  readonly suite: number;
  /** Bytes of the nonce openParameters writes (24 for suite 1, 12 for suite 2). */
  readonly nonceBytes: number;
  /** Seals segment `index`; a non-last segment must be exactly segmentSize bytes. */
  seal(index: number, last: boolean, plaintext: Buffer): Buffer;
  /**
   * seal() into `out` (at least plaintext length + TAG_BYTES, not overlapping `plaintext`); returns
   * the view of `out` that holds the sealed segment. For callers that recycle their buffers.
   */
  sealInto(index: number, last: boolean, plaintext: Buffer, out: Buffer): Buffer;
  /** Returns the authenticated plaintext or throws IntegrityError; never returns unverified bytes. */
  open(index: number, last: boolean, ciphertext: Buffer): Buffer;
  /**
   * open(), decrypting over `ciphertext` itself (no allocation): the result is a view of its first
   * bytes. For buffers the caller owns and no longer needs sealed. On failure the plaintext part
   * holds zeros, never unverified plaintext.
   */
  openInPlace(index: number, last: boolean, ciphertext: Buffer): Buffer;
  /**
   * open(), decrypting into the start of `out`, which must have room for the plaintext: the result
   * is a view of `out`. Lets a reader gather several segments into one buffer (one socket write)
   * without copying them. On failure those bytes of `out` are zeroed, never unverified plaintext.
   */
  openInto(index: number, last: boolean, ciphertext: Buffer, out: Buffer): Buffer;
  /**
   * What open() would pass to the AEAD for segment `index` of `sealedLength` bytes: writes its
   * nonce (nonceBytes) and associated data (AD_BYTES) into the given buffers and returns the
   * plaintext length, or throws IntegrityError as open() does for an impossible length. For an
   * AEAD that runs elsewhere (crypto/aead-thread.ts), with the key copyKey() gives.
   */
  openParameters(index: number, last: boolean, sealedLength: number, nonceOut: Buffer, adOut: Buffer): number;
  /**
   * Copies the key the AEAD runs with into `out` (KEY_BYTES): the DEK itself for suite 1, the
   * write's derived key for suite 2. For an AEAD that runs elsewhere; the caller zeroes the copy.
   */
  copyKey(out: Buffer): void;
  /**
   * Zeroes the key material the cipher owns (suite 2's derived key; the DEK stays the caller's)
   * and refuses any later call. Idempotent.
   */
  dispose(): void;
}

export function segmentCount(size: number, segmentSize: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError("size must be a non-negative integer");
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 1) throw new RangeError("segmentSize must be ≥ 1");
  return Math.max(1, Math.ceil(size / segmentSize));
}

/** The per-object part of every segment's AD: BLAKE2b-256 over the length-prefixed context, into `out`. */
function adPrefix(ctx: SegmentContext, out: Buffer): void {
  const common = [u8(ctx.formatVersion), u8(ctx.suite), u32be(ctx.segmentSize), ctx.owner, ctx.objectId];
  const encoded = ctx.part
    ? lengthPrefixed([PART_MAGIC, ...common, ctx.part.uploadWriteId, u32be(ctx.part.number), ctx.writeId])
    : lengthPrefixed([SEGMENT_MAGIC, ...common, ctx.writeId]);
  sodium.crypto_generichash(out, encoded);
}

function validate(dek: Buffer, ctx: SegmentContext): void {
  if (ctx.formatVersion === FORMAT_VERSION) {
    if (ctx.part) throw new IntegrityError("format version 1 has no parts");
  } else if (ctx.formatVersion === FORMAT_VERSION_PART) {
    const p = ctx.part;
    if (!p || !Number.isInteger(p.number) || p.number < 1 || p.number > MAX_PART_NUMBER)
      throw new IntegrityError("invalid part number");
    if (!Buffer.isBuffer(p.uploadWriteId) || p.uploadWriteId.length !== WRITE_ID_BYTES)
      throw new IntegrityError("invalid upload write id");
  } else throw new IntegrityError("unknown segment format version");
  if (ctx.suite !== SUITE_XCHACHA20_POLY1305 && ctx.suite !== SUITE_AES256GCM)
    throw new IntegrityError("unknown segment cipher suite");
  const s = ctx.segmentSize;
  if (!Number.isInteger(s) || s < MIN_SEGMENT_SIZE || s > MAX_SEGMENT_SIZE) {
    throw new IntegrityError("invalid segment size");
  }
  if (!Buffer.isBuffer(ctx.writeId) || ctx.writeId.length !== WRITE_ID_BYTES) {
    throw new IntegrityError("invalid write id");
  }
  if (dek.length !== KEY_BYTES) throw new IntegrityError("invalid data key");
}

/** The AEAD of each suite this version reads and writes. */
const AEADS: ReadonlyMap<number, SegmentAead> = new Map([
  [SUITE_XCHACHA20_POLY1305, XCHACHA20_POLY1305],
  [SUITE_AES256GCM, AES_256_GCM],
]);

/** The AEAD of `suite` (undefined for a suite this version does not know): the AEAD thread's too. */
export function segmentAead(suite: number): SegmentAead | undefined {
  return AEADS.get(suite);
}

/**
 * Validates `ctx` (IntegrityError: it comes from stored metadata) and hashes the per-object AD once.
 * Suite 1 keeps a reference to `dek`, not a copy: zeroize the DEK only after the last seal/open.
 * Call dispose() when done, whatever the suite (suite 2 holds a key derived from the DEK).
 */
export function createSegmentCipher(dek: Buffer, ctx: SegmentContext): SegmentCipher {
  validate(dek, ctx);
  const aead = AEADS.get(ctx.suite)!;
  const segmentSize = ctx.segmentSize;
  // Scratch nonce and AD, rewritten per call: safe because seal/open run synchronously to completion.
  // Pooled allocations (no key material in them); position() writes the bytes left unset here.
  const nonceBytes = aead.nonceBytes;
  const nonce = Buffer.allocUnsafe(nonceBytes).fill(0);
  // Suite 1's nonce starts with the write id; suite 2's key is derived from it instead (12 bytes
  // hold no 16-byte id).
  const at = ctx.suite === SUITE_XCHACHA20_POLY1305 ? ctx.writeId.copy(nonce, 0) : 0;
  const ad = Buffer.allocUnsafe(AD_BYTES);
  adPrefix(ctx, ad.subarray(0, AD_DIGEST_BYTES));
  const owned = ctx.suite === SUITE_AES256GCM;
  const key = owned ? gcmSegmentKey(dek, ad.subarray(0, AD_DIGEST_BYTES)) : dek;
  let disposed = false;

  const position = (index: number, last: boolean): void => {
    if (disposed) throw new Error("segment cipher used after dispose()");
    const flag = last ? 1 : 0;
    nonce.writeUInt32BE(index, at);
    nonce[at + 4] = flag;
    ad.writeUInt32BE(index, AD_DIGEST_BYTES);
    ad[AD_DIGEST_BYTES + 4] = flag;
  };
  const validIndex = (index: number): boolean =>
    Number.isInteger(index) && index >= 0 && index <= MAX_SEGMENT_INDEX;

  return {
    suite: ctx.suite,
    nonceBytes,

    seal(index, last, plaintext) {
      return sealTo(
        index,
        last,
        plaintext,
        Buffer.allocUnsafe(checkSeal(index, last, plaintext) + TAG_BYTES),
      );
    },

    sealInto(index, last, plaintext, out) {
      const n = checkSeal(index, last, plaintext);
      if (out.length < n + TAG_BYTES) throw new RangeError("output buffer too small for the sealed segment");
      return sealTo(index, last, plaintext, out.subarray(0, n + TAG_BYTES));
    },

    open(index, last, ciphertext) {
      const n = checkOpen(index, last, ciphertext);
      const out = Buffer.allocUnsafe(n);
      decrypt(out, index, last, ciphertext);
      return out;
    },

    openInto(index, last, ciphertext, out) {
      const n = checkOpen(index, last, ciphertext);
      if (out.length < n) throw new RangeError("output buffer too small for the opened segment");
      const plain = out.subarray(0, n);
      decrypt(plain, index, last, ciphertext);
      return plain;
    },

    openParameters(index, last, sealedLength, nonceOut, adOut) {
      const n = checkOpenLength(index, last, sealedLength);
      position(index, last);
      nonce.copy(nonceOut, 0, 0, nonceBytes);
      ad.copy(adOut, 0, 0, AD_BYTES);
      return n;
    },

    openInPlace(index, last, ciphertext) {
      const n = checkOpen(index, last, ciphertext);
      const out = ciphertext.subarray(0, n);
      decrypt(out, index, last, ciphertext);
      return out;
    },

    copyKey(out) {
      if (disposed) throw new Error("segment cipher used after dispose()");
      key.copy(out, 0, 0, KEY_BYTES);
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      if (owned) zeroize(key);
    },
  };

  function checkSeal(index: number, last: boolean, plaintext: Buffer): number {
    if (!validIndex(index)) throw new RangeError("segment index out of range");
    const n = plaintext.length;
    // Only canonical layouts are sealed, so open can reject everything else as tampering.
    if (last ? n > segmentSize || (n === 0 && index > 0) : n !== segmentSize) {
      throw new RangeError(
        `segment ${index} has ${n} bytes, invalid for a ${last ? "last" : "non-last"} segment`,
      );
    }
    return n;
  }

  function sealTo(index: number, last: boolean, plaintext: Buffer, out: Buffer): Buffer {
    position(index, last);
    aead.seal(out, plaintext, ad, nonce, key);
    return out;
  }

  function checkOpen(index: number, last: boolean, ciphertext: Buffer): number {
    return checkOpenLength(index, last, ciphertext.length);
  }

  function checkOpenLength(index: number, last: boolean, sealedLength: number): number {
    if (!validIndex(index)) throw new IntegrityError("segment index out of range");
    const n = sealedLength - TAG_BYTES;
    if (last ? n < 0 || n > segmentSize || (n === 0 && index > 0) : n !== segmentSize) {
      throw new IntegrityError(`segment ${index} has an invalid length`);
    }
    return n;
  }

  function decrypt(out: Buffer, index: number, last: boolean, ciphertext: Buffer): void {
    position(index, last);
    if (!aead.open(out, ciphertext, ad, nonce, key))
      throw new IntegrityError(`segment ${index} failed authentication`);
  }
}
