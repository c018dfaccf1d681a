// Runs background jobs (rewrap, root rotation, verify) in whichever process holds a job's lease:
// claims through the store, renews the lease while working, saves progress and cursor at every
// checkpoint, and picks running jobs up again after a restart or when their holder died.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { type DomainMetrics, type JobOutcome, NO_METRICS } from "../domain-metrics.js";
import { AppError } from "../errors.js";
import { Backoff, FailureLog } from "../failure-log.js";
import type { JobPatch, JobStore } from "../store/job-store.js";
import type { JobRecord } from "../store/records.js";

export interface JobContext {
  readonly job: JobRecord;
  /** Aborted when the runner stops or the lease was lost. */
  readonly signal: AbortSignal;
  /**
   * Saves progress (and the cursor to resume from) and renews the lease. Yields to the event loop
   * first, so a long job never starves requests. Throws JobInterrupted when the job must stop.
   */
  checkpoint(patch: JobPatch): Promise<void>;
}

/** Does the job's work; resolves with the last fields to save (the runner marks it done). */
export type JobHandler = (ctx: JobContext) => Promise<JobPatch | undefined>;

/** The job stopped without finishing (shutdown, lease lost); it stays running for the next worker. */
export class JobInterrupted extends Error {
  override name = "JobInterrupted";
}

export interface JobRunnerOptions {
  logger: Logger;
  /** How long a claim holds without renewal; a dead worker's job is taken over after this. */
  leaseMs?: number;
  /** How often to look for claimable jobs (also woken at once by wake()). */
  pollMs?: number;
  /** Jobs this process runs at once. */
  concurrency?: number;
  /** A pause after each checkpoint that saved progress: background work leaves room to requests. */
  pauseMs?: number;
  metrics?: DomainMetrics;
}

interface Running {
  abort: AbortController;
  finished: Promise<void>;
}

export class JobRunner {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #concurrency: number;
  readonly #pauseMs: number;
  readonly #running = new Map<string, Running>();
  #loop: Promise<void> | null = null;
  #stopping = false;
  #woken = false;
  #wakeUp: (() => void) | null = null;
  /** Claims that fail (the store is down, the disk full) are retried ever later and logged without flooding. */
  readonly #claimFailures: FailureLog;
  readonly #claimBackoff: Backoff;
  readonly #renewFailures: FailureLog;

  readonly #jobs: JobStore;
  readonly #handlers: Readonly<Record<string, JobHandler>>;
  readonly #opts: JobRunnerOptions;

  constructor(jobs: JobStore, handlers: Readonly<Record<string, JobHandler>>, opts: JobRunnerOptions) {
    this.#jobs = jobs;
    this.#handlers = handlers;
    this.#opts = opts;
    this.#leaseMs = opts.leaseMs ?? 15_000;
    this.#pollMs = opts.pollMs ?? 1000;
    this.#concurrency = opts.concurrency ?? 2;
    this.#pauseMs = opts.pauseMs ?? 0;
    this.#claimFailures = new FailureLog(opts.logger, "claiming a background job");
    this.#claimBackoff = new Backoff({ initialMs: this.#pollMs, maxMs: Math.max(this.#pollMs, 60_000) });
    this.#renewFailures = new FailureLog(opts.logger, "renewing a job's lease");
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#poll();
  }

  /** Looks for work now (a job was just created). */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** Stops claiming, interrupts running jobs at their next checkpoint and gives their leases back. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.wake();
    await this.#loop;
    this.#loop = null;
    for (const r of this.#running.values()) r.abort.abort();
    await Promise.all([...this.#running.values()].map((r) => r.finished));
  }

  /** Resolves once no job runs in this process (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running.values()].map((r) => r.finished));
  }

  async #poll(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      let pause = this.#pollMs;
      try {
        while (!this.#stopping && this.#running.size < this.#concurrency) {
          const job = await this.#jobs.claimJob(this.workerId, this.#leaseMs);
          if (!job) break;
          this.#launch(job);
        }
        this.#claimFailures.succeeded();
        this.#claimBackoff.reset();
      } catch (err) {
        this.#claimFailures.failed(err);
        pause = this.#claimBackoff.next();
      }
      if (this.#stopping || this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        timer.unref();
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = null;
    }
  }

  #launch(job: JobRecord): void {
    const abort = new AbortController();
    const log = this.#opts.logger.child({ job: job.id, kind: job.kind });
    let lost = false;
    const renew = async (): Promise<boolean> => {
      if (lost) return false;
      let held: boolean;
      try {
        held = await this.#jobs.renewJobLease(job.id, this.workerId, this.#leaseMs);
      } catch (err) {
        this.#renewFailures.failed(err);
        throw err;
      }
      this.#renewFailures.succeeded();
      if (!held) {
        lost = true;
        abort.abort();
        log.warn("lost the job's lease to another worker");
      }
      return !lost;
    };
    const timer = setInterval(() => {
      // Logged by renewFailures; the next beat tries again, and a lease that expires is taken over.
      renew().catch(() => undefined);
    }, this.#leaseMs / 3);
    timer.unref();

    const ctx: JobContext = {
      job,
      signal: abort.signal,
      checkpoint: async (patch) => {
        await yieldToEventLoop();
        if (abort.signal.aborted || !(await renew())) throw new JobInterrupted();
        await this.#jobs.updateJob(job.id, patch);
        if (this.#pauseMs > 0 && patch.done !== undefined)
          await sleep(this.#pauseMs, undefined, { signal: abort.signal }).catch(() => {
            throw new JobInterrupted();
          });
      },
    };

    const metrics = this.#opts.metrics ?? NO_METRICS;
    // Until the job is done or failed, leaving it is an interruption (another worker resumes it).
    let outcome: JobOutcome = "interrupted";
    metrics.jobStarted(job.kind);
    const finished = (async () => {
      try {
        const handler = this.#handlers[job.kind];
        if (!handler) throw new AppError("internal_error", `this server cannot run jobs of kind ${job.kind}`);
        log.info({ done: job.done, total: job.total, resumed: job.cursor !== null }, "job started");
        const last = await handler(ctx);
        if (abort.signal.aborted) throw new JobInterrupted();
        if (await renew()) {
          await this.#jobs.updateJob(job.id, { ...last, state: "done" });
          outcome = "done";
          log.info("job done");
        }
      } catch (err) {
        if (err instanceof JobInterrupted || abort.signal.aborted) {
          // Left running: the next worker (or this one after a restart) resumes from the cursor.
          if (!lost) await this.#jobs.renewJobLease(job.id, this.workerId, -1).catch(() => undefined);
          log.info("job interrupted; it resumes from its last checkpoint");
        } else {
          log.error({ err }, "job failed");
          outcome = "failed";
          // An AppError's detail is written for clients; anything else may hold internals.
          const error =
            err instanceof AppError
              ? (err.detail ?? err.message)
              : "an unexpected error occurred; see the server log";
          if (await renew().catch(() => false))
            await this.#jobs
              .updateJob(job.id, { state: "failed", error })
              .catch((e) => log.error({ err: e }, "could not record the job's failure"));
        }
      } finally {
        clearInterval(timer);
        metrics.jobFinished(job.kind, outcome);
        this.#running.delete(job.id);
        this.wake();
      }
    })();
    this.#running.set(job.id, { abort, finished });
  }
}
