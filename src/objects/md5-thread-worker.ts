// The body of the MD5 thread (see md5-thread.ts): one MD5 per stream id, fed the blocks the main
// thread transfers, each block handed back once hashed so the main thread can refill it.
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import type { Md5Reply, Md5Request } from "./md5-thread.js";

const port = parentPort!;
const streams = new Map<number, Hash>();

port.on("message", (m: Md5Request) => {
  const { id } = m;
  if (m.abort) {
    streams.delete(id);
    return;
  }
  let hash = streams.get(id);
  if (!hash) {
    hash = createHash("md5");
    streams.set(id, hash);
  }
  if (m.block) {
    hash.update(new Uint8Array(m.block, 0, m.length));
    port.postMessage({ id, block: m.block } satisfies Md5Reply, [m.block]);
  }
  if (m.end) {
    streams.delete(id);
    const digest = hash.digest();
    const bytes = digest.buffer.slice(digest.byteOffset, digest.byteOffset + 16) as ArrayBuffer;
    port.postMessage({ id, digest: bytes } satisfies Md5Reply);
  }
});
