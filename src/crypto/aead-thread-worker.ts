// The body of the AEAD thread (see aead-thread.ts): opens, in place, the batch of sealed segments
// the main thread laid out in a slot of shared memory, and answers which slot is done or which
// segment failed. The main thread writes each segment's nonce and associated data next to it, and
// the key into the slot, so the format stays in segment-format.ts alone; the message names the
// suite, whose AEAD (segment-aead.ts, the code the main thread opens with) runs here.
import { parentPort, workerData } from "node:worker_threads";
import type { AeadThreadData, Job, Reply } from "./aead-thread.js";
import { TAG_BYTES } from "./segment-aead.js";
import { segmentAead } from "./segment-format.js";

const { memory, layout } = workerData as AeadThreadData;
const port = parentPort!;

port.on("message", ({ slot, suite, nonceBytes, entries }: Job) => {
  const aead = segmentAead(suite);
  if (!aead || nonceBytes !== aead.nonceBytes || nonceBytes > layout.nonceBytes)
    throw new Error(`the AEAD thread cannot open suite ${suite}`);
  const base = slot * layout.slotBytes;
  const key = Buffer.from(memory, base, layout.keyBytes);
  let failed = -1;
  for (let i = 0; i < entries.length / 2; i++) {
    const params = base + layout.keyBytes + i * layout.entryBytes;
    const nonce = Buffer.from(memory, params, nonceBytes);
    const ad = Buffer.from(memory, params + layout.nonceBytes, layout.adBytes);
    const sealed = Buffer.from(memory, base + layout.dataOffset + entries[2 * i]!, entries[2 * i + 1]!);
    // In place: the plaintext takes the segment's first bytes.
    if (!aead.open(sealed.subarray(0, sealed.length - TAG_BYTES), sealed, ad, nonce, key)) {
      failed = i;
      break;
    }
  }
  port.postMessage({ slot, failed } satisfies Reply);
});
