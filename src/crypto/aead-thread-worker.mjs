// The body of the AEAD thread (see aead-thread.ts): opens, in place, the batch of sealed segments
// the main thread laid out in a slot of shared memory, and answers which slot is done or which
// segment failed. It knows nothing of the segment format: the main thread writes each segment's
// nonce and associated data next to it, and the key into the slot, so the format stays in
// segment-format.ts alone; the message names the suite, which picks the primitive. Plain
// JavaScript on purpose: a worker thread cannot load TypeScript through the loaders the main
// thread may run under (tsx, vitest); tsconfig.build.json has allowJs so that the build emits it.
import { createDecipheriv } from "node:crypto";
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

const sodium = createRequire(import.meta.url)("sodium-native");
const TAG_BYTES = 16;
/** @type {{ memory: SharedArrayBuffer, layout: { slotBytes: number, keyBytes: number, entryBytes: number, nonceBytes: number, adBytes: number, dataOffset: number } }} */
const { memory, layout } = workerData;

/**
 * Opens `sealed` in place (the plaintext takes its first bytes); false when it does not authenticate.
 * @type {Record<number, (sealed: Buffer, ad: Buffer, nonce: Buffer, key: Buffer) => boolean>}
 */
const OPEN = {
  // Suite 1, XChaCha20-Poly1305: libsodium checks the tag first and allows m = c.
  1: (sealed, ad, nonce, key) => {
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        sealed.subarray(0, sealed.length - TAG_BYTES),
        null,
        sealed,
        ad,
        nonce,
        key,
      );
      return true;
    } catch {
      return false;
    }
  },
  // Suite 2, AES-256-GCM: node:crypto decrypts into a buffer of its own, copied over the
  // ciphertext only once the tag verified.
  2: (sealed, ad, nonce, key) => {
    const n = sealed.length - TAG_BYTES;
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    d.setAAD(ad);
    d.setAuthTag(sealed.subarray(n));
    const plain = d.update(sealed.subarray(0, n));
    try {
      d.final();
    } catch {
      // What the decipher gave back was never authenticated: it leaves no copy behind.
      plain.fill(0);
      return false;
    }
    // fill, not copy: a plain memcpy into shared memory (aead-thread.ts, copyBytes).
    if (n > 0) sealed.subarray(0, n).fill(plain);
    return true;
  },
};

parentPort.on("message", (job) => {
  /** @type {{ slot: number, suite: number, nonceBytes: number, entries: number[] }} entries: (offset, sealed length) of each segment */
  const { slot, suite, nonceBytes, entries } = job;
  const open = OPEN[suite];
  if (!open || nonceBytes > layout.nonceBytes) throw new Error(`the AEAD thread cannot open suite ${suite}`);
  const base = slot * layout.slotBytes;
  const key = Buffer.from(memory, base, layout.keyBytes);
  let failed = -1;
  for (let i = 0; i < entries.length / 2; i++) {
    const params = base + layout.keyBytes + i * layout.entryBytes;
    const nonce = Buffer.from(memory, params, nonceBytes);
    const ad = Buffer.from(memory, params + layout.nonceBytes, layout.adBytes);
    const sealed = Buffer.from(memory, base + layout.dataOffset + entries[2 * i], entries[2 * i + 1]);
    if (!open(sealed, ad, nonce, key)) {
      failed = i;
      break;
    }
  }
  parentPort.postMessage({ slot, failed });
});
