// Key material helpers of the key providers, on the project's one sodium binding (crypto/sodium.ts).
import { sodium } from "../crypto/sodium.js";

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium.randombytes_buf(b);
  return b;
}

/** A fresh key in guarded memory (zero it with sodium_memzero when dropped). */
export function secretBuffer(n: number): Buffer {
  return sodium.sodium_malloc(n);
}
