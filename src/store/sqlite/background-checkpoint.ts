// Copies the WAL back into objects.db on a worker thread, so that the copy and its fsync never
// block the event loop: uploads only append to the WAL (fsynced once, at commit), and the second
// write of every byte happens in parallel with them. The main connection keeps a large
// auto-checkpoint as a backstop in case the worker falls behind.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// Plain CommonJS evaluated in the worker: no TypeScript loader needed, in tests, tsx or dist alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
db.pragma("synchronous = FULL");
// A checkpoint copies WAL frames straight to the file; this connection needs almost no page cache.
db.pragma("cache_size = -256");
let timer = null;
let stopped = false;
function step() {
  timer = null;
  if (stopped) return;
  let again = false;
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    // More frames than were copied: the writer is ahead, go on at once.
    again = r && r.log > r.checkpointed && r.checkpointed >= 0;
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  timer = setTimeout(step, again ? 0 : workerData.idleMs);
}
parentPort.on("message", (msg) => {
  if (msg !== "stop") return;
  stopped = true;
  if (timer) clearTimeout(timer);
  try { db.pragma("wal_checkpoint(TRUNCATE)"); } catch {}
  db.close();
  parentPort.postMessage({ stopped: true });
});
step();
`;

export class BackgroundCheckpointer {
  readonly #worker: Worker;
  #stopped: Promise<void> | null = null;
  /** Settles once the thread has ended, by a stop or by a failure. */
  readonly #exited: Promise<void>;

  constructor(file: string, onError: (message: string) => void, idleMs = 25) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, idleMs } });
    this.#worker.on("message", (m: { error?: string }) => {
      if (m.error) onError(m.error);
    });
    this.#worker.on("error", (err) => onError(err.message));
    this.#exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    // The worker must never keep a finished process alive.
    this.#worker.unref();
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
