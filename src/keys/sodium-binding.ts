// sodium-native ships no type declarations; this types the few functions the key providers use,
// loaded through createRequire so no ambient `declare module` can clash with another file's.
import { type Sodium, sodium } from "../crypto/sodium.js";

/** The keys code uses the project's one sodium binding. */
export type SodiumKeyApi = Sodium;
export { sodium };

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium.randombytes_buf(b);
  return b;
}

/** A fresh key in guarded memory (zero it with sodium_memzero when dropped). */
export function secretBuffer(n: number): Buffer {
  return sodium.sodium_malloc(n);
}
