// The JobStore on objects.db. When one process owns the file, a lease still held when it opens was
// held by a process that died: opening frees every lease. Workers sharing it (SSE_WORKERS) do not:
// the primary frees them before it forks, and a worker that dies leaves leases that expire.
import { AppError } from "../../errors.js";
import type { JobListQuery, JobPatch, JobStore } from "../job-store.js";
import type { JobRecord } from "../records.js";
import { sqliteRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { JOBS, sqliteInsert } from "../rows.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";

type JobRow = Rows.JobRow<number>;
const { toJob, fromJob } = sqliteRows;

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    insertJob: p(sqliteInsert(JOBS)),
    getJob: p(`SELECT ${JOBS.list} FROM jobs WHERE id = ?`),
    // Newest first; a page goes on below the (created, id) of the job it starts after.
    listJobs: p(
      `SELECT ${JOBS.list} FROM jobs
       WHERE (@owner IS NULL OR owner = @owner)
         AND (@after IS NULL OR (created, id) < (SELECT created, id FROM jobs WHERE id = @after))
       ORDER BY created DESC, id DESC LIMIT @limit`,
    ),
    // One statement for every patch shape: a flag per field says whether to set it.
    updateJob: p(
      `UPDATE jobs SET
         state = CASE WHEN @hasState THEN @state ELSE state END,
         done = CASE WHEN @hasDone THEN @done ELSE done END,
         total = CASE WHEN @hasTotal THEN @total ELSE total END,
         error = CASE WHEN @hasError THEN @error ELSE error END,
         cursor = CASE WHEN @hasCursor THEN @cursor ELSE cursor END,
         result = CASE WHEN @hasResult THEN @result ELSE result END,
         updated = @now
       WHERE id = @id`,
    ),
    claimJob: p(
      `UPDATE jobs SET lease_owner = @worker, lease_until = @until
       WHERE id = (SELECT id FROM jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= @now)
                   ORDER BY created LIMIT 1)
       RETURNING ${JOBS.list}`,
    ),
    renewLease: p("UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'"),
    freeLeases: p("UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL"),
  };
}

export class SqliteJobStore implements JobStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;

  constructor(db: SqliteDatabase, opts: { shared?: boolean } = {}) {
    this.#db = db;
    this.#s = prepareStatements(db);
    if (opts.shared !== true) this.#db.relaxed(() => this.#s.freeLeases.run());
  }

  async createJob(job: JobRecord): Promise<void> {
    try {
      this.#db.durable(() => this.#s.insertJob.run(fromJob(job)));
    } catch (err) {
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE")) throw new AppError("conflict", "job id already exists");
      throw err;
    }
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const row = this.#db.guard(() => this.#s.getJob.get(id)) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  async listJobs(q: JobListQuery): Promise<JobRecord[]> {
    const rows = this.#db.guard(() =>
      this.#s.listJobs.all({ owner: q.owner, after: q.after, limit: q.limit }),
    ) as JobRow[];
    return rows.map(toJob);
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const has = (k: keyof typeof patch) => (patch[k] !== undefined ? 1 : 0);
    const { changes } = this.#db.durable(() =>
      this.#s.updateJob.run({
        id,
        now: Date.now(),
        hasState: has("state"),
        state: patch.state ?? null,
        hasDone: has("done"),
        done: patch.done ?? null,
        hasTotal: has("total"),
        total: patch.total ?? null,
        hasError: has("error"),
        error: patch.error ?? null,
        hasCursor: has("cursor"),
        cursor: patch.cursor ?? null,
        hasResult: has("result"),
        result: patch.result ?? null,
      }),
    );
    if (changes === 0) throw new AppError("not_found", "no such job");
  }

  async claimJob(worker: string, leaseMs: number): Promise<JobRecord | null> {
    const now = Date.now();
    // Relaxed: a lease lost in a power failure simply expires again after restart.
    const row = this.#db.relaxed(() => this.#s.claimJob.get({ worker, now, until: now + leaseMs })) as
      | JobRow
      | undefined;
    return row ? toJob(row) : null;
  }

  async renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean> {
    return this.#db.relaxed(() => this.#s.renewLease.run(Date.now() + leaseMs, id, worker)).changes > 0;
  }
}
