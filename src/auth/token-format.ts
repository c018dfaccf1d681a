// Token strings: `sse_<id>_<secret>`, 64-bit public id (hex) and 256-bit secret (base64url).
// Only SHA-256 of the whole token is stored; the id makes the lookup an index hit, and the hash
// comparison is constant-time. A high-entropy secret needs no slow hash.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const TOKEN_RE = /^sse_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Issued ids are 16 hex digits; an operator-chosen bootstrap token's id is `b` and 15. */
const TOKEN_ID_RE = /^(?:[0-9a-f]{16}|b[0-9a-f]{15})$/;

export interface NewToken {
  id: string;
  token: string;
  secretHash: Buffer;
}

export function generateToken(): NewToken {
  const id = randomBytes(8).toString("hex");
  const token = `sse_${id}_${randomBytes(32).toString("base64url")}`;
  return { id, token, secretHash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash("sha256").update("sse-token-v1\0").update(token, "utf8").digest();
}

/**
 * The lookup id of any presented token. Tokens we issued carry their id; an operator-chosen
 * bootstrap token in another shape gets an id derived from its hash.
 */
export function tokenLookupId(token: string, hash: Buffer = hashToken(token)): string {
  const m = TOKEN_RE.exec(token);
  if (m) return m[1]!;
  return `b${hash.subarray(0, 8).toString("hex").slice(1)}`;
}

export function isTokenId(id: string): boolean {
  return TOKEN_ID_RE.test(id);
}

export function tokenMatches(token: string, storedHash: Buffer): boolean {
  return hashMatches(hashToken(token), storedHash);
}

/** Constant-time comparison of a presented token's hash with the stored one. */
export function hashMatches(hash: Buffer, storedHash: Buffer): boolean {
  return hash.length === storedHash.length && timingSafeEqual(hash, storedHash);
}

/** Plausible bearer credential: printable ASCII, bounded, so junk never reaches the store. */
export function isPlausibleToken(token: string): boolean {
  return token.length >= 16 && token.length <= 512 && /^[\x21-\x7e]+$/.test(token);
}
