// SigV4's signing key: HMAC chain secret -> date -> region -> "s3" -> "aws4_request". It changes once a
// day per key and region, so a small LRU saves four HMACs on nearly every request.
import { createHash, createHmac } from "node:crypto";

export function deriveSigningKey(
  secret: Buffer | string,
  date: string,
  region: string,
  service = "s3",
): Buffer {
  const seed = Buffer.concat([
    Buffer.from("AWS4"),
    typeof secret === "string" ? Buffer.from(secret) : secret,
  ]);
  const kDate = createHmac("sha256", seed).update(date).digest();
  seed.fill(0);
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  return createHmac("sha256", kService).update("aws4_request").digest();
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac("sha256", key).update(data).digest("hex");
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Bounded LRU of signing keys, keyed by a hash of the secret (so a replaced secret never hits a stale key). */
export class SigningKeyCache {
  readonly #entries = new Map<string, Buffer>();
  readonly #max: number;

  constructor(max = 512) {
    this.#max = max;
  }

  get(secret: Buffer | string, date: string, region: string): Buffer {
    const id = `${createHash("sha256").update(secret).digest("base64")}\n${date}\n${region}`;
    const hit = this.#entries.get(id);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the oldest entry is always first.
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit;
    }
    const key = deriveSigningKey(secret, date, region);
    this.#entries.set(id, key);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return key;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
