// How PostgreSQL and node-postgres failures map onto the error catalogue: the database or the network
// failing becomes StorageUnavailableError (503), its disk being full DiskFullError (507); constraint
// violations are recognised by SQLSTATE; serialization failures and deadlocks are worth retrying.
// SQL text never reaches an error's detail.
import pg from "pg";
import { AppError, DiskFullError, StorageUnavailableError } from "../../errors.js";

/**
 * SQLSTATE classes and codes that mean "the database cannot serve us now": connection exceptions,
 * insufficient resources (disk full, too many connections), operator intervention (shutdown,
 * cancel, timeouts), system errors (I/O), internal errors, a read-only standby after a failover,
 * a missing database, rejected credentials.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58|XX|28|3D000$|25006$|55P03$|55000$)/;

/** disk_full: the database server could not extend a file. */
const DISK_FULL_SQLSTATE = "53100";

/** Network failures of the socket under a connection. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** node-postgres's own messages for a connection or pool that cannot be used. */
const DRIVER_MESSAGES =
  /^(Connection terminated|Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end on the pool|The server does not support SSL connections|Query read timeout)/;

function sqlState(err: unknown): string | null {
  if (err instanceof pg.DatabaseError && typeof err.code === "string") return err.code;
  return null;
}

/**
 * The StorageUnavailableError for a failure of the database or of the way to it, or null for
 * anything else (a constraint, a bug). The cause is kept for the log only.
 */
export function pgFault(err: unknown): StorageUnavailableError | null {
  if (err instanceof StorageUnavailableError) return err;
  const state = sqlState(err);
  if (state === DISK_FULL_SQLSTATE) return new DiskFullError(err);
  if (state !== null) return UNAVAILABLE_SQLSTATE.test(state) ? new StorageUnavailableError(err) : null;
  if (err instanceof AggregateError && err.errors.some((e) => pgFault(e) !== null))
    return new StorageUnavailableError(err);
  if (!(err instanceof Error)) return null;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return new StorageUnavailableError(err);
  if (DRIVER_MESSAGES.test(err.message)) return new StorageUnavailableError(err);
  return null;
}

/**
 * Text PostgreSQL cannot store (a NUL byte: character_not_in_repertoire, 22021; or an
 * untranslatable character, 22P05) as the client mistake it is. The edge refuses such input first
 * (http/hostile-input.ts); this is the last line of defence, so that it can never become a 500.
 */
export function unstorableText(err: unknown): AppError | null {
  const state = sqlState(err);
  if (state === "22021" || state === "22P05")
    return new AppError("bad_request", "the request holds a character that cannot be stored (NUL)");
  return null;
}

/** serialization_failure and deadlock_detected: the transaction did nothing and may simply run again. */
export function isRetryable(err: unknown): boolean {
  const state = sqlState(err);
  return state === "40001" || state === "40P01";
}

export type ConstraintKind = "unique" | "foreign_key";

const CONSTRAINT_SQLSTATE: Record<ConstraintKind, string> = { unique: "23505", foreign_key: "23503" };

/** A violation of one of the given kinds, optionally of one named constraint. */
export function isConstraint(err: unknown, kind: ConstraintKind, constraint?: string): boolean {
  if (sqlState(err) !== CONSTRAINT_SQLSTATE[kind]) return false;
  return constraint === undefined || (err as pg.DatabaseError).constraint === constraint;
}
