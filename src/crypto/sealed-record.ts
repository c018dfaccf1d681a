// Small records sealed under a write's data key: the encrypted, authenticated metadata of an object
// (content type, times, S3 headers and user metadata, the plaintext's MD5 and checksums), the
// manifest of a multipart object, and the facts of one uploaded part. Byte layout and the nonce
// argument: docs/FORMAT.md, "Sealed records".
import { IntegrityError } from "../errors.js";
import { KEY_BYTES, lengthPrefixed, u8 } from "./envelope.js";
import { NONCE_BYTES, TAG_BYTES, WRITE_ID_BYTES } from "./segment-format.js";
import { sodium } from "./sodium.js";

export const RECORD_FORMAT_VERSION = 1;
/**
 * What a record is for; byte 20 of its nonce. Segments put their last flag (0 or 1) there, so a
 * record's nonce never equals a segment's under the same data key.
 */
export const RecordPurpose = {
  /** The object's metadata (one per write). */
  metadata: 2,
  /** The ordered list of a multipart object's parts (one per completed upload). */
  manifest: 3,
  /** One uploaded part's size and digests (one per part write). */
  part: 4,
} as const;
export type RecordPurpose = (typeof RecordPurpose)[keyof typeof RecordPurpose];

const RECORD_MAGIC = "sse-store/record";
const AD_BYTES = 32;
/** Records are small: metadata, or a manifest of at most 10,000 parts. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** Whose record it is: the write (or part write) it belongs to. */
export interface RecordBinding {
  owner: string;
  objectId: string;
  /** The write id of the object, or of the part for a part record. */
  writeId: Buffer;
}

function nonceOf(b: RecordBinding, purpose: RecordPurpose): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  b.writeId.copy(nonce, 0);
  nonce.writeUInt32BE(0xffffffff, 16);
  nonce[20] = purpose;
  return nonce;
}

function adOf(b: RecordBinding, purpose: RecordPurpose): Buffer {
  const ad = Buffer.alloc(AD_BYTES);
  sodium.crypto_generichash(
    ad,
    lengthPrefixed([RECORD_MAGIC, u8(RECORD_FORMAT_VERSION), u8(purpose), b.owner, b.objectId, b.writeId]),
  );
  return ad;
}

function check(dek: Buffer, b: RecordBinding): void {
  if (dek.length !== KEY_BYTES) throw new RangeError(`the data key must be ${KEY_BYTES} bytes`);
  if (b.writeId.length !== WRITE_ID_BYTES) throw new RangeError(`a write id is ${WRITE_ID_BYTES} bytes`);
}

/** u8(version) ‖ XChaCha20-Poly1305(DEK, nonce(writeId, purpose), AD(binding, purpose), plaintext). */
export function sealRecord(dek: Buffer, b: RecordBinding, purpose: RecordPurpose, plaintext: Buffer): Buffer {
  check(dek, b);
  if (plaintext.length > MAX_RECORD_BYTES) throw new RangeError("record too large");
  const out = Buffer.alloc(1 + plaintext.length + TAG_BYTES);
  out[0] = RECORD_FORMAT_VERSION;
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    out.subarray(1),
    plaintext,
    adOf(b, purpose),
    null,
    nonceOf(b, purpose),
    dek,
  );
  return out;
}

/** The authenticated plaintext of a sealed record, or IntegrityError: never unverified bytes. */
export function openRecord(dek: Buffer, b: RecordBinding, purpose: RecordPurpose, sealed: Buffer): Buffer {
  check(dek, b);
  if (sealed.length < 1 + TAG_BYTES || sealed.length > 1 + MAX_RECORD_BYTES + TAG_BYTES)
    throw new IntegrityError("a sealed record has an invalid length");
  if (sealed[0] !== RECORD_FORMAT_VERSION) throw new IntegrityError("unknown sealed record version");
  const out = Buffer.alloc(sealed.length - 1 - TAG_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      out,
      null,
      sealed.subarray(1),
      adOf(b, purpose),
      nonceOf(b, purpose),
      dek,
    );
  } catch {
    out.fill(0);
    throw new IntegrityError("a sealed record failed authentication");
  }
  return out;
}

/** sealRecord of a JSON value. */
export function sealJson(dek: Buffer, b: RecordBinding, purpose: RecordPurpose, value: unknown): Buffer {
  return sealRecord(dek, b, purpose, Buffer.from(JSON.stringify(value), "utf8"));
}

/** openRecord of a JSON value (IntegrityError if it is not JSON: it authenticated, so it is ours). */
export function openJson<T>(dek: Buffer, b: RecordBinding, purpose: RecordPurpose, sealed: Buffer): T {
  const plain = openRecord(dek, b, purpose, sealed);
  try {
    return JSON.parse(plain.toString("utf8")) as T;
  } catch {
    throw new IntegrityError("a sealed record is not the JSON it should be");
  }
}
