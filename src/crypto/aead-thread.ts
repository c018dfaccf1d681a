// A thread of its own for the AEAD of large reads. Opening segments is half of the CPU a large GET
// costs; on the main thread it competes with SQLite and the socket while the machine's other cores
// idle. The main thread copies a batch of sealed segments, with each one's nonce and associated data
// (from SegmentCipher.openParameters) and the key (SegmentCipher.copyKey), into a slot of shared
// memory; the thread opens them in place, with the suite the message names; the main thread copies
// the plaintext out. A read keeps two batches in
// flight, so fetching and sending one overlaps opening the next.
//
// Shared memory, not buffers moved between threads: a moved buffer arrives as old-generation
// external memory, which only a full garbage collection frees (measured: full collections took a
// third of the CPU, GET fell from 650 to 400 MB/s and memory grew by 50 MB). The key goes
// through its slot, never through a message (whose serialised copy nobody would zero), and is
// zeroed as soon as the thread has answered. The thread starts on first use and does not keep the
// process alive.
import type { Worker } from "node:worker_threads";
import { IntegrityError } from "../errors.js";
import { startThread, threadModule } from "../thread-module.js";
import { KEY_BYTES, zeroize } from "./envelope.js";
import { copyBytes } from "./segment-aead.js";
import { AD_BYTES, NONCE_BYTES, type SegmentCipher, TAG_BYTES } from "./segment-format.js";

const ENTRY_BYTES = NONCE_BYTES + AD_BYTES;

export interface AeadThreadOptions {
  /** Batches in flight or waiting to be taken, across all reads (default 4: two reads at full speed). */
  slots?: number;
  /** Segments one batch holds at most (default 16). */
  maxEntries?: number;
  /** Plaintext bytes one batch holds at most (default 16 segments of 64 KiB). */
  maxBatchBytes?: number;
  /** The worker's script (tests); default aead-thread-worker next to this module. */
  workerUrl?: URL;
  /** The thread failed or exited unasked: the reads under way fail, the next read starts it again. */
  onError?: (err: unknown) => void;
}

/** A batch opened on the thread, its plaintext still in its slot. */
export interface OpenedBatch {
  /** Plaintext bytes. */
  readonly length: number;
  /** Copies the plaintext into a new buffer and frees the slot; once. */
  take(): Buffer;
  /** Frees the slot unread (a read that ended early); idempotent. */
  discard(): void;
}

/** What the thread is told of a batch: nothing secret (the key is in the slot). */
export interface Job {
  slot: number;
  /** The suite of every segment in the batch (SegmentCipher.suite), and its nonce's length. */
  suite: number;
  nonceBytes: number;
  /** (offset, sealed length) of each segment in the slot's data area. */
  entries: number[];
}

export interface Reply {
  slot: number;
  /** Index in the batch of the segment that failed authentication, or -1. */
  failed: number;
}

/** One slot of the shared memory: key ‖ nonce and AD of each entry ‖ sealed segments. */
export interface SlotLayout {
  slotBytes: number;
  keyBytes: number;
  entryBytes: number;
  nonceBytes: number;
  adBytes: number;
  dataOffset: number;
}

/** The thread's workerData. */
export interface AeadThreadData {
  memory: SharedArrayBuffer;
  layout: SlotLayout;
}

export class AeadThread {
  readonly maxEntries: number;
  readonly maxBatchBytes: number;
  readonly #slots: number;
  readonly #layout: SlotLayout;
  #memory: SharedArrayBuffer | null = null;
  #worker: Worker | null = null;
  #closed = false;
  #broken = false;
  readonly #free: number[] = [];
  readonly #waiting: Array<(slot: number) => void> = [];
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();

  readonly #opts: AeadThreadOptions;

  constructor(opts: AeadThreadOptions = {}) {
    this.#opts = opts;
    this.#slots = opts.slots ?? 4;
    this.maxEntries = opts.maxEntries ?? 16;
    this.maxBatchBytes = opts.maxBatchBytes ?? 16 * 65536;
    if (!(this.#slots >= 1 && this.maxEntries >= 1 && this.maxBatchBytes >= 1))
      throw new RangeError("an AEAD thread needs at least one slot of one segment");
    const dataOffset = KEY_BYTES + this.maxEntries * ENTRY_BYTES;
    this.#layout = {
      slotBytes: dataOffset + this.maxBatchBytes + this.maxEntries * TAG_BYTES,
      keyBytes: KEY_BYTES,
      entryBytes: ENTRY_BYTES,
      nonceBytes: NONCE_BYTES,
      adBytes: AD_BYTES,
      dataOffset,
    };
    for (let i = 0; i < this.#slots; i++) this.#free.push(i);
  }

  /** Segments of `segmentSize` plaintext bytes that one batch holds; 0 when even one does not fit. */
  batchCapacity(segmentSize: number): number {
    return Math.min(this.maxEntries, Math.floor(this.maxBatchBytes / segmentSize));
  }

  /**
   * False once a thread died before answering anything (it cannot start here: a missing worker
   * file, too little memory): reads then open segments on their own thread instead of failing.
   */
  get usable(): boolean {
    return !this.#broken && !this.#closed;
  }

  /**
   * Opens sealed segments `first`, `first + 1`, … of an object whose last segment is `lastIndex`,
   * under `cipher` (not disposed before this resolves). The plaintext stays in the batch's slot until taken, so the
   * caller allocates its buffer only when it is about to send it. Throws IntegrityError for a
   * segment of the wrong length or one that fails authentication: then nothing is returned.
   */
  async open(
    cipher: SegmentCipher,
    first: number,
    lastIndex: number,
    sealed: Buffer[],
  ): Promise<OpenedBatch> {
    if (!this.usable)
      throw new Error(this.#closed ? "the AEAD thread is closed" : "the AEAD thread cannot start");
    if (sealed.length > this.maxEntries) throw new RangeError("batch larger than an AEAD thread job");
    const slot = await this.#acquire();
    const memory = this.#memory!;
    const base = slot * this.#layout.slotBytes;
    const data = base + this.#layout.dataOffset;
    const key = Buffer.from(memory, base, KEY_BYTES);
    let handedOver = false;
    try {
      // (offset, sealed length) of each segment in the slot's data area.
      const entries: number[] = [];
      let plainBytes = 0;
      let at = 0;
      for (let i = 0; i < sealed.length; i++) {
        const index = first + i;
        const seg = sealed[i]!;
        const params = base + KEY_BYTES + i * ENTRY_BYTES;
        const n = cipher.openParameters(
          index,
          index === lastIndex,
          seg.length,
          Buffer.from(memory, params, cipher.nonceBytes),
          Buffer.from(memory, params + NONCE_BYTES, AD_BYTES),
        );
        plainBytes += n;
        if (plainBytes > this.maxBatchBytes) throw new RangeError("batch larger than an AEAD thread job");
        copyBytes(seg, Buffer.from(memory, data + at, seg.length));
        entries.push(at, seg.length);
        at += seg.length;
      }
      cipher.copyKey(key);
      const reply = await this.#run({ slot, suite: cipher.suite, nonceBytes: cipher.nonceBytes, entries });
      zeroize(key);
      if (reply.failed >= 0)
        throw new IntegrityError(`segment ${first + reply.failed} failed authentication`);
      let done = false;
      const free = () => {
        if (done) return false;
        done = true;
        this.#release(slot);
        return true;
      };
      handedOver = true;
      return {
        length: plainBytes,
        take: () => {
          if (done) throw new Error("this batch was already taken or discarded");
          const out = Buffer.allocUnsafe(plainBytes);
          let filled = 0;
          for (let i = 0; i < entries.length; i += 2) {
            const n = entries[i + 1]! - TAG_BYTES;
            copyBytes(Buffer.from(memory, data + entries[i]!, n), out.subarray(filled, filled + n));
            filled += n;
          }
          free();
          return out;
        },
        discard: () => {
          free();
        },
      };
    } finally {
      if (!handedOver) {
        zeroize(key);
        this.#release(slot);
      }
    }
  }

  /** Stops the thread; reads under way fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = null;
    this.#failAll(new Error("the AEAD thread is closed"));
    if (w) await w.terminate();
  }

  #run(job: Job): Promise<Reply> {
    const worker = this.#ensureWorker();
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(job.slot, { resolve, reject });
      worker.postMessage(job);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const workerData: AeadThreadData = { memory: this.#memory!, layout: this.#layout };
    const w = startThread(this.#opts.workerUrl ?? threadModule(import.meta.url, "aead-thread-worker"), {
      workerData,
      // It keeps no JavaScript objects to speak of: a small heap is a smaller resident size.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    w.unref();
    let answered = false;
    w.on("message", (r: Reply) => {
      answered = true;
      const p = this.#pending.get(r.slot);
      this.#pending.delete(r.slot);
      p?.resolve(r);
    });
    const lost = (err: unknown) => {
      if (this.#worker !== w) return;
      this.#worker = null;
      if (!answered) this.#broken = true;
      this.#failAll(err);
      this.#opts.onError?.(err);
    };
    w.on("error", lost);
    w.on("exit", (code) => lost(new Error(`the AEAD thread exited with code ${code}`)));
    this.#worker = w;
    return w;
  }

  #failAll(err: unknown): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(err);
  }

  #acquire(): Promise<number> {
    this.#memory ??= new SharedArrayBuffer(this.#slots * this.#layout.slotBytes);
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: number): void {
    const next = this.#waiting.shift();
    if (next) next(slot);
    else this.#free.push(slot);
  }
}
