// Background work that fails again and again (a full disk, a database outage) must neither flood
// the log nor hammer what is failing. FailureLog writes the first failure with its error, then at
// most one summary a minute with the count since the last line, and one line when the work
// succeeds again; Backoff doubles the pause before the next attempt up to a ceiling.
import type { Logger } from "pino";

/** How often a failure that goes on is summarised. */
export const SUMMARY_EVERY_MS = 60_000;

export interface FailureLogOptions {
  summaryEveryMs?: number;
  /** The clock (tests pass their own). */
  now?: () => number;
  /** The three lines' messages (default: "<what> failed; …", "<what> still failing", "<what> works again"). */
  messages?: { failed: string; still: string; recovered: string };
}

export class FailureLog {
  readonly #summaryEveryMs: number;
  readonly #now: () => number;
  /** When the failure began, or null while the work succeeds. */
  #since: number | null = null;
  #lastLine = 0;
  /** Failures since the last line written. */
  #unreported = 0;
  #total = 0;
  readonly #messages: { failed: string; still: string; recovered: string };

  readonly #logger: Pick<Logger, "error" | "info">;

  constructor(
    logger: Pick<Logger, "error" | "info">,
    /** What failed, as the log says it: "SQLite background checkpoint", "job claim"… */
    readonly what: string,
    opts: FailureLogOptions = {},
  ) {
    this.#logger = logger;
    this.#summaryEveryMs = opts.summaryEveryMs ?? SUMMARY_EVERY_MS;
    this.#now = opts.now ?? Date.now;
    this.#messages = opts.messages ?? {
      failed: `${what} failed; it is tried again, and repeats are summarised once a minute`,
      still: `${what} still failing`,
      recovered: `${what} works again`,
    };
  }

  /** Whether the last attempt failed. */
  get failing(): boolean {
    return this.#since !== null;
  }

  /** Records a failure: an error, or a message (a worker thread's, say), and fields for the log line. */
  failed(err: unknown, fields: Record<string, unknown> = {}): void {
    const now = this.#now();
    const cause = {
      ...fields,
      ...(err === undefined ? {} : typeof err === "string" ? { error: err } : { err }),
    };
    this.#total++;
    if (this.#since === null) {
      this.#since = now;
      this.#lastLine = now;
      this.#unreported = 0;
      this.#logger.error(cause, this.#messages.failed);
      return;
    }
    this.#unreported++;
    if (now - this.#lastLine < this.#summaryEveryMs) return;
    this.#logger.error(
      {
        ...cause,
        failures: this.#unreported,
        failuresInAll: this.#total,
        failingForSeconds: Math.round((now - this.#since) / 1000),
      },
      this.#messages.still,
    );
    this.#lastLine = now;
    this.#unreported = 0;
  }

  succeeded(fields: Record<string, unknown> = {}): void {
    if (this.#since === null) return;
    const now = this.#now();
    this.#logger.info(
      { ...fields, failures: this.#total, failingForSeconds: Math.round((now - this.#since) / 1000) },
      this.#messages.recovered,
    );
    this.#since = null;
    this.#total = 0;
    this.#unreported = 0;
  }
}

export interface BackoffOptions {
  /** The pause after the first failure. */
  initialMs: number;
  /** The longest pause. */
  maxMs: number;
}

export class Backoff {
  #failures = 0;

  constructor(readonly opts: BackoffOptions) {}

  /** The pause before the next attempt, after one more failure: initial, twice that, … up to max. */
  next(): number {
    const ms = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.#failures, 52));
    this.#failures++;
    return ms;
  }

  reset(): void {
    this.#failures = 0;
  }
}

/** Where background work says how it went, by what it was ("reclaim", "abort upload"…). */
export interface BackgroundReport {
  failed(what: string, err: unknown): void;
  succeeded(what: string): void;
}

export const NO_REPORT: BackgroundReport = { failed() {}, succeeded() {} };

/** One FailureLog per kind of background work, made as each first reports. */
export class FailureLogs implements BackgroundReport {
  readonly #logs = new Map<string, FailureLog>();

  readonly #logger: Pick<Logger, "error" | "info">;
  readonly #prefix: string;
  readonly #opts: FailureLogOptions;

  constructor(
    logger: Pick<Logger, "error" | "info">,
    /** Put before each kind in the log ("background ", "PostgreSQL: "). */
    prefix = "",
    opts: FailureLogOptions = {},
  ) {
    this.#logger = logger;
    this.#prefix = prefix;
    this.#opts = opts;
  }

  #log(what: string): FailureLog {
    let log = this.#logs.get(what);
    if (!log) {
      log = new FailureLog(this.#logger, `${this.#prefix}${what}`, this.#opts);
      this.#logs.set(what, log);
    }
    return log;
  }

  failed(what: string, err: unknown): void {
    this.#log(what).failed(err);
  }

  succeeded(what: string): void {
    this.#logs.get(what)?.succeeded();
  }
}
