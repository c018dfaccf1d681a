// The plaintext MD5 of S3 writes (their ETag), on a thread of its own. MD5 is the slowest step of
// an S3 upload (about 490 MB/s on one core here, against 700 for XChaCha20-Poly1305): computed on
// the request's thread it cut PutObject to 0.62 of the native PUT, and off it to 0.97 (bench, s3
// suite). The main thread copies the body into 1 MiB blocks it transfers to the thread (no second
// copy) and gets back once hashed; at most BLOCKS_IN_FLIGHT per stream are out, so a slow thread
// slows the upload rather than growing memory. A body smaller than a block never leaves this thread.
// The digest is of exactly the bytes given, in order.
import { createHash } from "node:crypto";
import type { Worker } from "node:worker_threads";
import { startThread, threadModule } from "../thread-module.js";

const BLOCK_BYTES = 1024 * 1024;
const BLOCKS_IN_FLIGHT = 4;

/** A running MD5: `update` with every chunk in order, then `digest` once. */
export interface Md5Stream {
  /** Resolves at once unless the thread is BLOCKS_IN_FLIGHT blocks behind. */
  update(chunk: Buffer): Promise<void> | undefined;
  digest(): Promise<Buffer>;
  /** Forgets the stream (an upload that failed). */
  abort(): void;
}

/** The same MD5 on the calling thread: where no thread can run (and in tests as the reference). */
export function localMd5(): Md5Stream {
  const h = createHash("md5");
  return {
    update(chunk) {
      h.update(chunk);
      return undefined;
    },
    digest: async () => h.digest(),
    abort() {},
  };
}

/** To the thread: a block of stream `id` (its first `length` bytes count), its end, or its abort. */
export interface Md5Request {
  id: number;
  block?: ArrayBuffer;
  length?: number;
  end?: boolean;
  abort?: boolean;
}

/** From the thread: a block handed back, or the stream's digest (16 bytes). */
export interface Md5Reply {
  id: number;
  block?: ArrayBuffer;
  digest?: ArrayBuffer;
}

interface StreamState {
  /** Blocks back from the thread, ready to fill. */
  free: ArrayBuffer[];
  /** Blocks at the thread. */
  out: number;
  /** Updates waiting for a block to come back. */
  waiting: (() => void)[];
  done: ((digest: Buffer) => void) | null;
  failed: ((err: Error) => void) | null;
}

export class Md5Thread {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #streams = new Map<number, StreamState>();
  /** Set once the thread cannot run: every stream then hashes on the calling thread. */
  #broken = false;

  readonly #opts: { workerUrl?: URL; onError?: (err: unknown) => void };

  constructor(opts: { workerUrl?: URL; onError?: (err: unknown) => void } = {}) {
    this.#opts = opts;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const w = startThread(this.#opts.workerUrl ?? threadModule(import.meta.url, "md5-thread-worker"));
    w.unref();
    w.on("message", (m: Md5Reply) => {
      const s = this.#streams.get(m.id);
      if (!s) return;
      if (m.block) {
        s.out--;
        s.free.push(m.block);
        for (const wake of s.waiting.splice(0)) wake();
      }
      if (m.digest) {
        this.#streams.delete(m.id);
        s.done?.(Buffer.from(m.digest));
      }
    });
    const fail = (err: Error) => {
      this.#opts.onError?.(err);
      this.#broken = true;
      this.#worker = null;
      for (const [id, s] of this.#streams) {
        this.#streams.delete(id);
        s.failed?.(err);
        for (const wake of s.waiting.splice(0)) wake();
      }
    };
    w.on("error", fail);
    w.on("exit", (code) => {
      if (this.#worker === w) fail(new Error(`the MD5 thread exited (${code})`));
    });
    this.#worker = w;
    return w;
  }

  /** A new MD5 stream on the thread (or on the calling thread when the thread cannot run). */
  start(): Md5Stream {
    if (this.#broken) return localMd5();
    let worker: Worker;
    try {
      worker = this.#ensureWorker();
    } catch (err) {
      this.#opts.onError?.(err);
      this.#broken = true;
      return localMd5();
    }
    const id = this.#nextId++;
    const streams = this.#streams;
    const state: StreamState = { free: [], out: 0, waiting: [], done: null, failed: null };
    this.#streams.set(id, state);
    let block = Buffer.from(new ArrayBuffer(BLOCK_BYTES));
    let fill = 0;
    let error: Error | null = null;
    state.failed = (err) => {
      error = err;
    };
    const send = (end: boolean) => {
      if (error) throw error;
      const buffer = block.buffer as ArrayBuffer;
      const request: Md5Request = { id, block: buffer, length: fill, end };
      worker.postMessage(request, [buffer]);
      state.out++;
      const reuse = state.free.pop();
      block = Buffer.from(reuse ?? new ArrayBuffer(BLOCK_BYTES));
      fill = 0;
    };
    return {
      update(chunk) {
        let off = 0;
        let wait: Promise<void> | undefined;
        while (off < chunk.length) {
          const n = chunk.copy(block, fill, off);
          fill += n;
          off += n;
          if (fill === BLOCK_BYTES) send(false);
        }
        if (state.out >= BLOCKS_IN_FLIGHT)
          wait = new Promise<void>((resolve) => {
            state.waiting.push(resolve);
          });
        return wait;
      },
      digest() {
        // A body that never filled a block (most small writes) is hashed here: a round trip to the
        // thread would cost more than the hash.
        if (state.out === 0 && state.free.length === 0 && !error) {
          streams.delete(id);
          return Promise.resolve(createHash("md5").update(block.subarray(0, fill)).digest());
        }
        return new Promise<Buffer>((resolve, reject) => {
          if (error) return reject(error);
          state.done = resolve;
          state.failed = reject;
          send(true);
        });
      },
      abort: () => {
        if (this.#streams.delete(id)) worker.postMessage({ id, abort: true } satisfies Md5Request);
      },
    };
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    this.#broken = true;
    await w?.terminate();
  }
}
