// S3 access keys as clients see them. The id is public (it travels in every SigV4 credential):
// `SSEK` and 16 upper-case hex digits, 20 characters like AWS's. The secret is 32 random bytes as
// unpadded base64url, 43 characters; SigV4 signs with that string, so the bytes it encodes are
// what is kept (wrapped), and encoding them again gives the same string.
import { randomBytes } from "node:crypto";
import { generateKey, KEY_BYTES } from "../crypto/envelope.js";

const ACCESS_KEY_ID_RE = /^SSEK[0-9A-F]{16}$/;
export const ACCESS_KEY_ID_LENGTH = 20;

export function generateAccessKeyId(): string {
  return `SSEK${randomBytes(8).toString("hex").toUpperCase()}`;
}

/** Whether `id` could be an access key we issued: anything else is refused without a store lookup. */
export function isAccessKeyId(id: string): boolean {
  return ACCESS_KEY_ID_RE.test(id);
}

/** A fresh secret's bytes (the caller zeroes them once wrapped). */
export function generateSecretBytes(): Buffer {
  return generateKey();
}

/** The secret as the client holds it and SigV4 signs with it. */
export function secretString(bytes: Buffer): string {
  if (bytes.length !== KEY_BYTES) throw new RangeError(`an access key secret is ${KEY_BYTES} bytes`);
  return bytes.toString("base64url");
}
