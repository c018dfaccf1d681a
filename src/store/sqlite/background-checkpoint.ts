// Copies the WAL back into objects.db on a worker thread, so that the copy and its fsync never
// block the event loop: uploads only append to the WAL (fsynced once, at commit), and the second
// write of every byte happens in parallel with them. The main connection keeps a large
// auto-checkpoint as a backstop in case the worker falls behind.
//
// When a checkpoint fails (the disk is full), the worker waits for the pause the main thread gives
// it (a Backoff, so a full disk is not retried 40 times a second), and while the disk is full it
// starts no checkpoint that cannot finish: a checkpoint grows objects.db to the size the WAL says,
// and one that stops halfway would have used up the space that deletes and small writes still
// need to append to the WAL (docs/OPERATIONS.md, "A full disk").
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { Backoff } from "../../failure-log.js";

// Plain CommonJS evaluated in the worker: no TypeScript loader needed, in tests, tsx or dist alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
db.pragma("synchronous = FULL");
// A checkpoint copies WAL frames straight to the file; this connection needs almost no page cache.
db.pragma("cache_size = -256");
let timer = null;
let stopped = false;
let failing = false;
/** Throws when objects.db cannot grow to take the whole WAL: such a checkpoint would stop halfway. */
function checkRoom() {
  const need = db.pragma("page_count", { simple: true }) * db.pragma("page_size", { simple: true }) -
    fs.statSync(workerData.file).size;
  if (need <= 0) return;
  const free = fs.statfsSync(path.dirname(workerData.file));
  const available = free.bavail * free.bsize;
  if (need > available)
    throw new Error("database or disk is full: objects.db must grow by " + need + " bytes to take the WAL, and " + available + " are free");
}
function step() {
  timer = null;
  if (stopped) return;
  let again = false;
  try {
    checkRoom();
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    // More frames than were copied: the writer is ahead, go on at once.
    again = r && r.log > r.checkpointed && r.checkpointed >= 0;
    if (failing) {
      failing = false;
      parentPort.postMessage({ recovered: true });
    }
  } catch (err) {
    failing = true;
    // The main thread answers with the pause before the next attempt.
    parentPort.postMessage({ error: String((err && err.message) || err) });
    return;
  }
  timer = setTimeout(step, again ? 0 : workerData.idleMs);
}
parentPort.on("message", (msg) => {
  if (msg && typeof msg.retryInMs === "number") {
    if (!stopped && timer === null) timer = setTimeout(step, msg.retryInMs);
    return;
  }
  if (msg !== "stop") return;
  stopped = true;
  if (timer) clearTimeout(timer);
  try { db.pragma("wal_checkpoint(TRUNCATE)"); } catch {}
  db.close();
  parentPort.postMessage({ stopped: true });
});
step();
`;

/** What the checkpointer tells its owner: each failure (with the pause before the retry), and the recovery. */
export interface CheckpointEvents {
  failed(message: string): void;
  recovered(): void;
}

export const NO_CHECKPOINT_EVENTS: CheckpointEvents = { failed() {}, recovered() {} };

export class BackgroundCheckpointer {
  readonly #worker: Worker;
  #stopped: Promise<void> | null = null;
  /** Settles once the thread has ended, by a stop or by a failure. */
  readonly #exited: Promise<void>;
  readonly #backoff: Backoff;
  #failing = false;

  constructor(
    file: string,
    events: CheckpointEvents = NO_CHECKPOINT_EVENTS,
    opts: { idleMs?: number; retryMaxMs?: number } = {},
  ) {
    const idleMs = opts.idleMs ?? 25;
    this.#backoff = new Backoff({ initialMs: Math.max(idleMs, 25), maxMs: opts.retryMaxMs ?? 5000 });
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, idleMs } });
    this.#worker.on("message", (m: { error?: string; recovered?: boolean }) => {
      if (m.error !== undefined) {
        this.#failing = true;
        events.failed(m.error);
        this.#worker.postMessage({ retryInMs: this.#backoff.next() });
      } else if (m.recovered) {
        this.#failing = false;
        this.#backoff.reset();
        events.recovered();
      }
    });
    this.#worker.on("error", (err) => events.failed(err.message));
    this.#exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    // The worker must never keep a finished process alive.
    this.#worker.unref();
  }

  /** Whether the last checkpoint failed (the WAL then grows until one succeeds). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Final checkpoint and close; resolves when the worker is gone. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      // Until it is gone, the worker is what keeps the process alive for whoever awaits this.
      this.#worker.ref();
      const done = () => resolve();
      // Also what ends a stop of a thread that had already died (its error was reported).
      void this.#exited.then(done);
      this.#worker.on("message", (m: { stopped?: boolean }) => {
        if (m.stopped) void this.#worker.terminate().then(done, done);
      });
      this.#worker.postMessage("stop");
    });
    return this.#stopped;
  }
}
