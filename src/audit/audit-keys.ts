// The audit log's two keys, both derived from one 32-byte secret that the root key wraps (the
// reserved owner AUDIT_KEY_OWNER in the key store): an Ed25519 key that signs checkpoints, and an
// HMAC key for identifiers derived from what users stored (object ids), so the log alone names no
// object but an auditor holding the key can check a guess.
import { createHash, createHmac } from "node:crypto";
import { sodium } from "../crypto/sodium.js";
import { canonicalJson } from "./canonical-json.js";

/** The key store's owner of the audit secret: not a uid a user can have (uids are random hex). */
export const AUDIT_KEY_OWNER = "~audit";
const KDF_CONTEXT = Buffer.from("sseaudit");
const SIGNING_SEED_ID = 1;
const HMAC_KEY_ID = 2;
const CHECKPOINT_TAG = "sse-store audit checkpoint v1\n";

/** The bytes a checkpoint signs: record `seq` has hash `hash`, stated at `time`. */
export function checkpointMessage(seq: number, hash: string, time: string): Buffer {
  return Buffer.from(CHECKPOINT_TAG + canonicalJson({ seq, hash, time }), "utf8");
}

/** First 16 hex digits of SHA-256 of the public key: names the key in every checkpoint. */
export function keyIdOf(publicKey: Buffer): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

export function verifyCheckpointSignature(publicKey: Buffer, message: Buffer, sigBase64: string): boolean {
  const sig = Buffer.from(sigBase64, "base64");
  if (sig.length !== sodium.crypto_sign_BYTES || publicKey.length !== sodium.crypto_sign_PUBLICKEYBYTES)
    return false;
  return sodium.crypto_sign_verify_detached(sig, message, publicKey);
}

/** PEM-less public key file: "ed25519:<base64>" on one line, as GET /admin/audit/public-key serves it. */
export function formatPublicKey(publicKey: Buffer): string {
  return `ed25519:${publicKey.toString("base64")}`;
}

/** Reads formatPublicKey's text (or bare base64); throws a one-line Error when it is not a key. */
export function parsePublicKey(text: string): Buffer {
  // The bare line, or the JSON that GET /admin/audit/public-key answers.
  const m = /(?:^|ed25519:)\s*([A-Za-z0-9+/]{43}=)/.exec(text.trim());
  const key = m ? Buffer.from(m[1]!, "base64") : null;
  if (!key || key.length !== sodium.crypto_sign_PUBLICKEYBYTES)
    throw new Error("not an audit public key (expected ed25519:<base64 of 32 bytes>)");
  return key;
}

export class AuditKeys {
  readonly publicKey: Buffer;
  readonly keyId: string;
  readonly #secretKey: Buffer;
  readonly #hmacKey: Buffer;

  /** Derives both keys from `secret` (32 bytes), which the caller zeroes afterwards. */
  constructor(secret: Buffer) {
    const seed = sodium.sodium_malloc(sodium.crypto_sign_SEEDBYTES);
    sodium.crypto_kdf_derive_from_key(seed, SIGNING_SEED_ID, KDF_CONTEXT, secret);
    this.publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
    this.#secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
    sodium.crypto_sign_seed_keypair(this.publicKey, this.#secretKey, seed);
    sodium.sodium_memzero(seed);
    this.#hmacKey = sodium.sodium_malloc(32);
    sodium.crypto_kdf_derive_from_key(this.#hmacKey, HMAC_KEY_ID, KDF_CONTEXT, secret);
    this.keyId = keyIdOf(this.publicKey);
  }

  /** Ed25519 signature, base64. */
  sign(message: Buffer): string {
    const sig = Buffer.alloc(sodium.crypto_sign_BYTES);
    sodium.crypto_sign_detached(sig, message, this.#secretKey);
    return sig.toString("base64");
  }

  /** HMAC-SHA-256 (hex) of an identifier, under the audit HMAC key, tagged with what it names. */
  mac(kind: string, value: string): string {
    return createHmac("sha256", this.#hmacKey).update(`${kind}\0${value}`, "utf8").digest("hex");
  }
}
