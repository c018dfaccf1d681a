// The header every root-wrapped blob starts with, and the associated data that binds it:
//   u8 blobVersion ‖ u32be rootVersion ‖ nonce/iv ‖ ciphertext+tag
//   AD = "sse-root-wrap" ‖ u8 blobVersion ‖ u32be rootVersion ‖ caller AD
// The label and header have fixed lengths, so the caller's AD cannot be confused with them.
import { IntegrityError } from "../errors.js";

/** XChaCha20-Poly1305 under a root key held in process memory (file and passphrase providers). */
export const BLOB_XCHACHA20POLY1305 = 1;
/** AES-256-GCM computed inside a PKCS#11 token. */
export const BLOB_AES256GCM_PKCS11 = 2;

export const HEADER_BYTES = 5;
const DOMAIN_LABEL = Buffer.from("sse-root-wrap", "ascii");

export function encodeHeader(blobVersion: number, rootVersion: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt8(blobVersion, 0);
  h.writeUInt32BE(rootVersion, 1);
  return h;
}

export function associatedData(header: Buffer, callerAd: Buffer): Buffer {
  return Buffer.concat([DOMAIN_LABEL, header, callerAd]);
}

/**
 * Checks the blob's version byte, its minimal length and that its embedded root version is the
 * one the caller named (both are authenticated again by the AEAD); returns the header.
 */
export function checkHeader(
  blob: Buffer,
  expectedBlobVersion: number,
  rootVersion: number,
  minBodyBytes: number,
): Buffer {
  if (!Buffer.isBuffer(blob) || blob.length < HEADER_BYTES + minBodyBytes)
    throw new IntegrityError("root-wrapped key is truncated");
  if (blob.readUInt8(0) !== expectedBlobVersion)
    throw new IntegrityError("root-wrapped key has an unknown format version");
  if (blob.readUInt32BE(1) !== rootVersion)
    throw new IntegrityError("root-wrapped key names a different root key version");
  return blob.subarray(0, HEADER_BYTES);
}

export function isRootVersion(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 0xffffffff;
}
