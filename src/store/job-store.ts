// The port of background jobs: their records, progress and the lease that lets exactly one process
// work on a job. Adapters implement it and pass test/contract/jobs.contract.ts.
import type { JobRecord } from "./records.js";

export type JobPatch = Partial<Pick<JobRecord, "state" | "done" | "total" | "error" | "cursor" | "result">>;

export interface JobStore {
  /** Throws conflict when the id is taken. */
  createJob(job: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  /** Sets the fields given and `updated`; throws not_found for an unknown job. */
  updateJob(id: string, patch: JobPatch): Promise<void>;
  /**
   * Takes the lease of one running job whose lease is free or expired, so that exactly one
   * process works on it; returns null when there is none. An adapter whose database only one
   * process may open (SQLite) frees every lease when it opens: their holder died with its process.
   * `renewJobLease(id, worker, -1)` gives a lease back (graceful stop).
   */
  claimJob(worker: string, leaseMs: number): Promise<JobRecord | null>;
  renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean>;
}
