// The JobStore on PostgreSQL. Leases are the database's clock, and a claim skips the jobs other
// processes are claiming at the same moment.
import { AppError } from "../../errors.js";
import type { JobListQuery, JobPatch, JobStore } from "../job-store.js";
import type { JobRecord } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { JOBS, pgInsert, valuesOf } from "../rows.js";
import { interval } from "./liveness.js";
import type { PgDatabase } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

type JobRow = Rows.JobRow<Date>;
const { toJob, fromJob } = postgresRows;

export class PostgresJobStore implements JobStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async createJob(job: JobRecord): Promise<void> {
    try {
      await this.#db.query(pgInsert(JOBS), valuesOf(JOBS.names, fromJob(job)));
    } catch (err) {
      if (isConstraint(err, "unique")) throw new AppError("conflict", "job id already exists");
      throw err;
    }
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const [row] = await this.#db.query<JobRow>(`SELECT ${JOBS.list} FROM jobs WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async listJobs(q: JobListQuery): Promise<JobRecord[]> {
    // Newest first; a page goes on below the (created, id) of the job it starts after.
    const rows = await this.#db.query<JobRow>(
      `SELECT ${JOBS.list} FROM jobs
       WHERE ($1::text IS NULL OR owner = $1)
         AND ($2::text IS NULL OR (created, id) < (SELECT created, id FROM jobs WHERE id = $2))
       ORDER BY created DESC, id DESC LIMIT $3`,
      [q.owner, q.after, q.limit],
    );
    return rows.map(toJob);
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const values: unknown[] = [id];
    const sets = ["updated = clock_timestamp()"];
    for (const key of ["state", "done", "total", "error", "cursor", "result"] as const) {
      if (patch[key] === undefined) continue;
      values.push(patch[key]);
      sets.push(`${key} = $${values.length}`);
    }
    const rows = await this.#db.query(`UPDATE jobs SET ${sets.join(", ")} WHERE id = $1 RETURNING 1`, values);
    if (rows.length === 0) throw new AppError("not_found", "no such job");
  }

  async claimJob(worker: string, leaseMs: number): Promise<JobRecord | null> {
    // SKIP LOCKED: processes claiming at the same moment take different jobs instead of waiting.
    const [row] = await this.#db.query<JobRow>(
      `UPDATE jobs SET lease_owner = $1, lease_until = now() + $2::interval
       WHERE id = (SELECT id FROM jobs
                   WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= now())
                   ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING ${JOBS.list}`,
      [worker, interval(leaseMs)],
    );
    return row ? toJob(row) : null;
  }

  async renewJobLease(id: string, worker: string, leaseMs: number): Promise<boolean> {
    const rows = await this.#db.query(
      `UPDATE jobs SET lease_until = now() + $1::interval
       WHERE id = $2 AND lease_owner = $3 AND state = 'running' RETURNING 1`,
      [interval(leaseMs), id, worker],
    );
    return rows.length > 0;
  }
}
