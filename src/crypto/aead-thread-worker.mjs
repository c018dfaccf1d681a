// The body of the AEAD thread (see aead-thread.ts): opens, in place, the batch of sealed segments
// the main thread laid out in a slot of shared memory, and answers which slot is done or which
// segment failed. It knows nothing of the segment format: the main thread writes each segment's
// nonce and associated data next to it, so the format stays in segment-format.ts alone. Plain
// JavaScript on purpose: a worker thread cannot load TypeScript through the loaders the main
// thread may run under (tsx, vitest); tsconfig.build.json has allowJs so that the build emits it.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

const sodium = createRequire(import.meta.url)("sodium-native");
const TAG_BYTES = 16;
/** @type {{ memory: SharedArrayBuffer, layout: { slotBytes: number, keyBytes: number, entryBytes: number, nonceBytes: number, adBytes: number, dataOffset: number } }} */
const { memory, layout } = workerData;

parentPort.on("message", (job) => {
  /** @type {{ slot: number, entries: number[] }} entries: (offset, sealed length) of each segment */
  const { slot, entries } = job;
  const base = slot * layout.slotBytes;
  const key = Buffer.from(memory, base, layout.keyBytes);
  let failed = -1;
  for (let i = 0; i < entries.length / 2; i++) {
    const params = base + layout.keyBytes + i * layout.entryBytes;
    const nonce = Buffer.from(memory, params, layout.nonceBytes);
    const ad = Buffer.from(memory, params + layout.nonceBytes, layout.adBytes);
    const sealed = Buffer.from(memory, base + layout.dataOffset + entries[2 * i], entries[2 * i + 1]);
    try {
      // In place: the plaintext takes the first bytes of its sealed form (libsodium allows m = c).
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        sealed.subarray(0, sealed.length - TAG_BYTES),
        null,
        sealed,
        ad,
        nonce,
        key,
      );
    } catch {
      failed = i;
      break;
    }
  }
  parentPort.postMessage({ slot, failed });
});
