// One SQLite connection and how work runs on it: failures turned into StorageUnavailableError,
// durable and relaxed commits, the durable writes of one event-loop turn grouped under one fsync,
// the background checkpointer of objects.db, and closing. The ports on one file (objects.ts,
// accounts.ts and jobs.ts on objects.db; keys.ts on keys.db) share its SqliteDatabase.
import type { Statement } from "better-sqlite3";
import { BackgroundCheckpointer } from "./background-checkpoint.js";
import { type Db, type OpenOptions, openDatabase, type Schema, storageFault } from "./migrations.js";

interface QueuedCommit {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class SqliteDatabase {
  readonly #db: Db;
  readonly #syncFull: Statement;
  readonly #syncNormal: Statement;
  readonly #ping: Statement;
  readonly #checkpointer: BackgroundCheckpointer | null;
  #fullSync = true;
  #closing = false;
  /** Durable writes that arrived in the same turn of the event loop, committed with one fsync. */
  #queue: QueuedCommit[] = [];

  /**
   * Opens and migrates `file`. With `checkpoint`, a worker thread copies the WAL into the file
   * continuously (background-checkpoint.ts) and reports its failures there.
   */
  static open(
    file: string,
    schema: Schema,
    opts: OpenOptions,
    checkpoint?: { onError(message: string): void },
  ): SqliteDatabase {
    const db = openDatabase(file, schema, opts);
    return new SqliteDatabase(db, checkpoint ? new BackgroundCheckpointer(file, checkpoint.onError) : null);
  }

  private constructor(db: Db, checkpointer: BackgroundCheckpointer | null) {
    this.#db = db;
    this.#syncFull = db.prepare("PRAGMA synchronous = FULL");
    this.#syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
    this.#ping = db.prepare("SELECT 1");
    this.#checkpointer = checkpointer;
  }

  /** A prepared statement on this connection (run it inside guard, durable or relaxed). */
  prepare(sql: string): Statement {
    return this.#db.prepare(sql);
  }

  /** Set once close() begins: long deletions stop between their batches. */
  get closing(): boolean {
    return this.#closing;
  }

  /** The page cache this connection was given, in KiB, as SQLite reports it. */
  get pageCacheKib(): number {
    return -(this.#db.pragma("cache_size", { simple: true }) as number);
  }

  /** Runs `fn`, turning database failures into StorageUnavailableError. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storageFault(err) ?? err;
    }
  }

  /** A read in one transaction, so that its statements see one snapshot. */
  read<T>(fn: () => T): T {
    return this.guard(() => this.#db.transaction(fn)());
  }

  /** A PRAGMA, guarded. */
  pragma(source: string): unknown {
    return this.guard(() => this.#db.pragma(source));
  }

  /** Writes that a 2xx depends on: the WAL is fsynced at commit, which also hardens earlier frames. */
  durable<T>(fn: () => T): T {
    return this.guard(() => {
      if (!this.#fullSync) {
        this.#syncFull.run();
        this.#fullSync = true;
      }
      return this.#db.transaction(fn).immediate();
    });
  }

  /**
   * Group commit: durable writes queued during one turn of the event loop share one transaction
   * and one fsync; each runs in its own savepoint, so one failing (a precondition) fails alone.
   */
  grouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.durable(() => {
        for (const item of batch) {
          try {
            // A nested better-sqlite3 transaction is a savepoint: a throw undoes only this item.
            outcomes.push({ ok: true, value: this.#db.transaction(item.fn)() });
          } catch (err) {
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(storageFault(o.value) ?? o.value);
    });
  }

  /** Writes that may be lost on power failure without harm (segments before commit, bookkeeping). */
  relaxed<T>(fn: () => T): T {
    return this.guard(() => {
      if (this.#fullSync) {
        this.#syncNormal.run();
        this.#fullSync = false;
      }
      return this.#db.transaction(fn).immediate();
    });
  }

  async ping(): Promise<void> {
    this.guard(() => this.#ping.get());
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#queue.length > 0) this.#flush();
    try {
      this.guard(() => {
        this.#db.pragma("optimize");
        this.#db.close();
      });
    } finally {
      await this.#checkpointer?.stop();
    }
  }
}
