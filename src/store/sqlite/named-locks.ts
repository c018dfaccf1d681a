// AccountStore.exclusively on SQLite, across every process on the file (SSE_WORKERS): a row in the
// locks table names the holder, taken in a write transaction (SQLite runs one at a time, so two
// processes cannot both see it free). The holder renews it while it runs; a row whose process is
// gone (kill -9) or whose lease ran out is taken over. Within a process, callers queue instead.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { StorageUnavailableError } from "../../errors.js";
import { KeyedQueue } from "../../keyed-queue.js";
import type { HeldLock } from "../account-store.js";
import type { SqliteDatabase } from "./database.js";

/** A holder that stops renewing (hung, or its pid reused) loses the lock after this long. */
const LEASE_MS = 30_000;
const RENEW_MS = LEASE_MS / 3;
/** Waiting for another process: polled, from a few milliseconds up to this pause. */
const MAX_POLL_MS = 250;

/** Whether a process with this pid runs on this host (SQLite files are never shared across hosts). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class NamedLocks {
  readonly #db: SqliteDatabase;
  readonly #queue = new KeyedQueue();
  readonly #s;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    const p = db.prepare.bind(db);
    this.#s = {
      get: p("SELECT holder, pid, until FROM locks WHERE name = ?"),
      take: p("INSERT OR REPLACE INTO locks (name, holder, pid, until) VALUES (?, ?, ?, ?)"),
      renew: p("UPDATE locks SET until = ? WHERE name = ? AND holder = ?"),
      release: p("DELETE FROM locks WHERE name = ? AND holder = ?"),
    };
  }

  run<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    return this.#queue.run(name, async () => {
      const holder = randomBytes(12).toString("hex");
      await this.#acquire(name, holder);
      const renewal = setInterval(() => {
        try {
          this.#db.relaxed(() => this.#s.renew.run(Date.now() + LEASE_MS, name, holder));
        } catch {
          // confirm() tells the holder before its next step that cannot be undone.
        }
      }, RENEW_MS);
      renewal.unref();
      const held: HeldLock = {
        confirm: async () => {
          const row = this.#db.guard(() => this.#s.get.get(name)) as { holder: string } | undefined;
          if (row?.holder !== holder)
            throw new StorageUnavailableError(new Error(`the lock ${name} was lost`));
        },
      };
      try {
        return await fn(held);
      } finally {
        clearInterval(renewal);
        try {
          this.#db.durable(() => this.#s.release.run(name, holder));
        } catch {
          // Left behind, the row expires, or is taken over once this process is gone.
        }
      }
    });
  }

  async #acquire(name: string, holder: string): Promise<void> {
    for (let pause = 2; ; pause = Math.min(MAX_POLL_MS, pause * 2)) {
      const taken = this.#db.durable(() => {
        const now = Date.now();
        const row = this.#s.get.get(name) as { pid: number; until: number } | undefined;
        if (row && row.until > now && processAlive(row.pid)) return false;
        this.#s.take.run(name, holder, process.pid, now + LEASE_MS);
        return true;
      });
      if (taken) return;
      await sleep(pause);
    }
  }
}
