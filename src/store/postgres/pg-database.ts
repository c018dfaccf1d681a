// One pooled connection to one schema of a PostgreSQL database: queries and transactions with the
// failure mapping of pg-errors.ts, retries of serialization failures, and a durable/relaxed split of
// commits. The pool reconnects by itself, so the store recovers when the database comes back.
import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import { AppError, StorageUnavailableError } from "../../errors.js";
import type { HeldLock } from "../account-store.js";
import { BinaryCopyIn, BinaryCopyOut, type CopyRow } from "./binary-copy.js";
import { isRetryable, pgFault, unstorableText } from "./pg-errors.js";

export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Runs a `COPY … FROM STDIN (FORMAT binary)` with these rows; resolves with the rows copied. */
  copyIn(text: string, rows: readonly CopyRow[]): Promise<number>;
  /** False when SSE_LIBRARY_SHORTCUTS turns binary-copy off: then BYTEA goes through plain queries. */
  readonly binaryCopy: boolean;
}

export interface PgDatabaseOptions {
  url: string;
  /** The schema every statement works in (search_path); quoted, so any name is safe. */
  schema: string;
  /** Most connections this pool opens. */
  max: number;
  /** A connection that cannot be had within this time fails the operation with 503. */
  connectTimeoutMs?: number;
  /** Failures of idle connections (the database restarting, the network dropping). */
  onIdleError?: (err: Error) => void;
  /** BYTEA over binary COPY (binary-copy.ts), the default; false: plain queries (hex text). */
  binaryCopy?: boolean;
}

/** How a transaction's commit reaches disk. */
export type Commit =
  /** Waits for the WAL flush: what a 2xx depends on. */
  | "durable"
  /** Returns before the flush (synchronous_commit off); a later durable commit hardens it too. */
  | "relaxed";

/** Retries of a transaction that failed with a serialization failure or a deadlock. */
const MAX_ATTEMPTS = 5;

const INT8_OID = 20;

/** int8 (bigint, count(*)) as a JS number: sizes and counts here stay far below 2^53. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError("a bigint value exceeds the safe integer range");
  return n;
}

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID && format !== "binary") return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

const statementNames = new Map<string, string>();

/**
 * A query with parameters becomes a named prepared statement, parsed and planned once per
 * connection instead of at every call. Our statement texts are a small, fixed set.
 */
function prepared(text: string, values: unknown[] | undefined): pg.QueryConfig | string {
  if (values === undefined) return text;
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `sse_${createHash("sha256").update(text).digest("hex").slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

export class PgDatabase {
  readonly schema: string;
  readonly binaryCopy: boolean;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #connectTimeoutMs: number;
  #closed = false;

  constructor(opts: PgDatabaseOptions) {
    this.schema = opts.schema;
    this.binaryCopy = opts.binaryCopy ?? true;
    this.#url = opts.url;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const session = [
      `SET search_path TO ${quoteIdent(opts.schema)}`,
      // Whatever the server's default, commits are durable unless a transaction says otherwise.
      "SET synchronous_commit TO on",
    ].join("; ");
    this.#pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: "sse-store",
      types,
      onConnect: async (client) => {
        await client.query(session);
      },
    });
    // An idle connection that dies is dropped by the pool; without a listener it would crash the process.
    this.#pool.on("error", (err) => opts.onIdleError?.(err));
  }

  get closed(): boolean {
    return this.#closed;
  }

  async query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      this.#checkOpen();
      try {
        const res = await this.#pool.query<R>(prepared(text, values));
        return res.rows;
      } catch (err) {
        if (isRetryable(err) && attempt < MAX_ATTEMPTS) {
          await backoff(attempt);
          continue;
        }
        throw this.#map(err);
      }
    }
  }

  /** The values of a one-column `COPY (SELECT …) TO STDOUT (FORMAT binary)`, as raw bytes. */
  async copyOut(text: string): Promise<Buffer[]> {
    this.#checkOpen();
    try {
      return await (this.#pool.query(new BinaryCopyOut(text) as never) as unknown as Promise<Buffer[]>);
    } catch (err) {
      throw this.#map(err);
    }
  }

  /**
   * Runs `fn` in a transaction on one connection. `fn` may run again (serialization failure or
   * deadlock), so it must do nothing but database work. An error thrown by `fn` rolls back.
   */
  async tx<T>(commit: Commit, fn: (q: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.#checkout();
      const { client } = conn;
      try {
        await client.query(commit === "durable" ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit TO off");
        const q = queryable(client, this.binaryCopy);
        const result = await fn(q);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch((e: Error) => conn.markBroken(e));
        if (isRetryable(err) && attempt < MAX_ATTEMPTS) {
          await backoff(attempt);
          continue;
        }
        throw this.#map(err);
      } finally {
        conn.release();
      }
    }
  }

  /**
   * Runs `fn` holding a session-level advisory lock named `name` (within this schema), waiting for
   * whoever holds it in any process. The lock lives on a connection of its own, outside the pool,
   * so that `fn` can use every pooled connection (a pool of one would otherwise deadlock).
   */
  async withAdvisoryLock<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    this.#checkOpen();
    const key = `sse-store ${this.schema} ${name}`;
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      keepAlive: true,
      application_name: "sse-store",
    });
    // Its failure must not crash the process; PostgreSQL releases the lock with the session.
    let lost: unknown = null;
    client.on("error", (err) => {
      lost ??= err;
    });
    client.on("end", () => {
      lost ??= new Error("the lock's connection ended");
    });
    try {
      await client.connect();
      await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [key]);
    } catch (err) {
      await settled(() => client.end());
      throw this.#map(err);
    }
    const held: HeldLock = {
      // A round trip on the lock's own session: if it answers, the session, and so the lock, lives.
      confirm: async () => {
        if (!lost) {
          try {
            await client.query("SELECT 1");
            return;
          } catch (err) {
            lost ??= err;
          }
        }
        // The detail stays generic for clients; the cause (the connection's failure) is for the log.
        throw new StorageUnavailableError(lost);
      },
    };
    try {
      return await fn(held);
    } finally {
      // A client whose connection died may throw at once instead of rejecting: both are ignored,
      // since PostgreSQL has then released the lock with the session already.
      await settled(() => client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key]));
      await settled(() => client.end());
    }
  }

  /** Runs `fn` on one pooled connection outside a transaction (VACUUM). */
  async withConnection<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const conn = await this.#checkout();
    try {
      return await fn(queryable(conn.client, this.binaryCopy));
    } catch (err) {
      throw this.#map(err);
    } finally {
      conn.release();
    }
  }

  /**
   * Checks a connection out of the pool. While checked out, a connection's failure has no other
   * listener, so it is caught here (it must not crash the process); a broken connection is
   * discarded on release instead of going back to the pool.
   */
  async #checkout(): Promise<{ client: pg.PoolClient; markBroken(err: Error): void; release(): void }> {
    this.#checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#map(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on("error", onError);
    return {
      client,
      markBroken(err) {
        broken ??= err;
      },
      release() {
        client.off("error", onError);
        client.release(broken);
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageUnavailableError(new Error(`the ${this.schema} store is closed`));
  }

  #map(err: unknown): unknown {
    if (err instanceof AppError) return err;
    if (this.#closed) return new StorageUnavailableError(err);
    return pgFault(err) ?? unstorableText(err) ?? err;
  }
}

/** The Queryable of one checked-out connection. */
function queryable(client: pg.PoolClient, binaryCopy: boolean): Queryable {
  return {
    binaryCopy,
    query: async <R extends object>(text: string, values?: unknown[]) =>
      (await client.query<R>(prepared(text, values))).rows,
    copyIn: (text, rows) =>
      new Promise<number>((resolve, reject) => {
        const copy = new BinaryCopyIn(text, rows);
        copy.callback = (err, n) => (err ? reject(err) : resolve(n ?? 0));
        client.query(copy as never);
      }),
  };
}

/** A few milliseconds, growing and jittered, so that colliding transactions stop colliding. */
function backoff(attempt: number): Promise<void> {
  return delay(Math.random() * 5 * 2 ** attempt);
}

/** Runs `fn` and waits for it, ignoring whether it threw, rejected or resolved. */
async function settled(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    // ignored: see the callers
  }
}
