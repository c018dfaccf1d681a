// The port of background jobs: their records, progress and the lease that lets exactly one process
// work on a job. Adapters implement it and pass test/contract/jobs.contract.ts.
import type { JobRecord } from "./records.js";

export type JobPatch = Partial<Pick<JobRecord, "state" | "done" | "total" | "error" | "cursor" | "result">>;

export interface JobListQuery {
  /** Only the jobs this user (uid) started; every job when null. */
  owner: string | null;
  /** Only the jobs older than this one (the last of the previous page); from the newest when null. */
  after: string | null;
  limit: number;
}

export interface JobStore {
  /** Throws conflict when the id is taken. */
  createJob(job: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  /**
   * Jobs newest first (by created, then id), at most `limit`. An `after` naming no job gives an
   * empty page: the caller checks the cursor first when it must say why.
   */
  listJobs(query: JobListQuery): Promise<JobRecord[]>;
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
