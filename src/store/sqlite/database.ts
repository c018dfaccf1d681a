// One SQLite connection and how work runs on it: failures turned into StorageUnavailableError,
// durable and relaxed commits, the durable writes of one event-loop turn grouped under one fsync,
// the background checkpointer of objects.db, the emergency space a full disk's deletes may use, and
// closing. The ports on one file (objects.ts, accounts.ts and jobs.ts on objects.db; keys.ts on
// keys.db) share its SqliteDatabase.
import { statSync } from "node:fs";
import type { Statement } from "better-sqlite3";
import { BackgroundCheckpointer, type CheckpointEvents } from "./background-checkpoint.js";
import { type EmergencySpace, withEmergencyRoom } from "./emergency-space.js";
import {
  type Db,
  isDiskFull,
  type OpenOptions,
  openDatabase,
  type Schema,
  storageFault,
} from "./migrations.js";

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
  readonly #freelistCount: Statement;
  readonly #checkpointer: BackgroundCheckpointer | null;
  /** Given up when a durable write (a delete, a metadata change) finds the disk full (emergency-space.ts). */
  readonly #emergency: EmergencySpace | null;
  readonly #file: string;
  readonly #pageSize: number;
  #fullSync = true;
  #closing = false;
  /** Durable writes that arrived in the same turn of the event loop, committed with one fsync. */
  #queue: QueuedCommit[] = [];

  /**
   * Opens and migrates `file`. With `checkpoint`, a worker thread copies the WAL into the file
   * continuously (background-checkpoint.ts) and reports its failures and its recovery there. With
   * `emergency`, durable writes that find the disk full give that space up and run once more.
   */
  static open(
    file: string,
    schema: Schema,
    opts: OpenOptions,
    more: { checkpoint?: CheckpointEvents; emergency?: EmergencySpace | null } = {},
  ): SqliteDatabase {
    const db = openDatabase(file, schema, opts);
    return new SqliteDatabase(
      db,
      file,
      more.checkpoint ? new BackgroundCheckpointer(file, more.checkpoint) : null,
      more.emergency ?? null,
    );
  }

  private constructor(
    db: Db,
    file: string,
    checkpointer: BackgroundCheckpointer | null,
    emergency: EmergencySpace | null,
  ) {
    this.#db = db;
    this.#file = file;
    this.#syncFull = db.prepare("PRAGMA synchronous = FULL");
    this.#syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
    this.#ping = db.prepare("SELECT 1");
    this.#freelistCount = db.prepare("PRAGMA freelist_count").pluck();
    this.#pageSize = db.pragma("page_size", { simple: true }) as number;
    this.#checkpointer = checkpointer;
    this.#emergency = emergency;
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

  /**
   * Where writes go before the files grow: free pages inside the file, and the WAL already on disk
   * (rewritten from its start once checkpointed); for the reserve's arithmetic (disk-space.ts).
   */
  spaceUse(): { reusable: number; journal: number } {
    return this.guard(() => {
      const pages = this.#freelistCount.get() as number;
      let journal = 0;
      try {
        journal = statSync(`${this.#file}-wal`).size;
      } catch {
        // No WAL file (yet): nothing to reuse.
      }
      return { reusable: pages * this.#pageSize, journal };
    });
  }

  /** Whether the background checkpoint fails (the WAL then grows with every write). */
  get checkpointFailing(): boolean {
    return this.#checkpointer?.failing ?? false;
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

  /**
   * Writes that a 2xx depends on: the WAL is fsynced at commit, which also hardens earlier frames.
   * When the disk is full they may use the emergency space: deletes, tokens, keys, small items (an
   * upload's commit is small too; its segments are already stored).
   */
  durable<T>(fn: () => T): T {
    return this.guard(() =>
      withEmergencyRoom(this.#emergency, () => {
        if (!this.#fullSync) {
          this.#syncFull.run();
          this.#fullSync = true;
        }
        return this.#db.transaction(fn).immediate();
      }),
    );
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
    let outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.durable(() => {
        outcomes = [];
        for (const item of batch) {
          try {
            // A nested better-sqlite3 transaction is a savepoint: a throw undoes only this item.
            outcomes.push({ ok: true, value: this.#db.transaction(item.fn)() });
          } catch (err) {
            // A full disk fails the whole group, which then runs again in the emergency space.
            if (isDiskFull(err)) throw err;
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

  /**
   * Writes that may be lost on power failure without harm (segments before commit, bookkeeping).
   * Never in the emergency space: that is for what a client asked for (a purge only moves pages to
   * the free list, which gives the volume nothing back while the disk is full).
   */
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
