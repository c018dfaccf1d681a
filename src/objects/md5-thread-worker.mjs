// The body of the MD5 thread (see md5-thread.ts): one MD5 per stream id, fed the blocks the main
// thread transfers, each block handed back once hashed so the main thread can refill it. Plain
// JavaScript on purpose: a worker thread cannot load TypeScript through the loaders the main thread
// may run under (tsx, vitest); tsconfig.build.json has allowJs so that the build emits it.
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";

/** @type {Map<number, import("node:crypto").Hash>} */
const streams = new Map();

parentPort.on("message", (m) => {
  /** @type {{ id: number, block?: ArrayBuffer, length?: number, end?: boolean, abort?: boolean }} */
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
    parentPort.postMessage({ id, block: m.block }, [m.block]);
  }
  if (m.end) {
    streams.delete(id);
    const digest = hash.digest();
    parentPort.postMessage({ id, digest: digest.buffer.slice(digest.byteOffset, digest.byteOffset + 16) });
  }
});
