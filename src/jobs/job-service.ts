// Starting jobs and looking them up. A job is visible to the user who started it and to admins;
// to anyone else it does not exist.
import { randomBytes } from "node:crypto";
import type { Principal } from "../auth/auth-service.js";
import { validateUserName } from "../auth/user-name.js";
import { AppError } from "../errors.js";
import type { AccountStore } from "../store/account-store.js";
import type { JobStore } from "../store/job-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { JobRecord } from "../store/records.js";
import type { JobRunner } from "./job-runner.js";
import { REWRAP } from "./rewrap-job.js";
import { ROOT_ROTATE } from "./root-rotation-job.js";
import { VERIFY, verifyScope } from "./verify-job.js";

export class JobService {
  readonly #jobs: JobStore;
  /** For the object counts a job's progress starts from. */
  readonly #objects: ObjectStore;
  /** For the users a verify job covers. */
  readonly #accounts: AccountStore;
  readonly #runner: JobRunner;

  constructor(jobs: JobStore, objects: ObjectStore, accounts: AccountStore, runner: JobRunner) {
    this.#jobs = jobs;
    this.#objects = objects;
    this.#accounts = accounts;
    this.#runner = runner;
  }

  /** Rewraps every data key of `owner` (uid) to its primary version. */
  async startRewrap(by: string, owner: string): Promise<JobRecord> {
    return this.#create(REWRAP, by, owner, await this.#objectCount([owner]));
  }

  /** A new root version, every KEK version rewrapped under it, the old versions retired. */
  async startRootRotation(by: string): Promise<JobRecord> {
    return this.#create(ROOT_ROTATE, by, null, 0);
  }

  /** Reads and authenticates every object of `owner` (uid), or of every user when null. */
  async startVerify(by: string, owner: string | null): Promise<JobRecord> {
    const users = await verifyScope(this.#accounts, owner);
    return this.#create(VERIFY, by, owner, await this.#objectCount(users.map((u) => u.uid)));
  }

  /** The job, when `p` started it or is an admin; not_found otherwise (its existence stays hidden). */
  async get(id: string, p: Principal): Promise<JobRecord> {
    const job = await this.#jobs.getJob(id);
    if (!job || (job.owner !== p.user.uid && p.user.role !== "admin"))
      throw new AppError("not_found", `no job ${id}`);
    return job;
  }

  /**
   * A page of jobs, newest first: the caller's own, or (admins) everyone's or the named `user`'s.
   * A user naming another is refused before any lookup. `after` is the last job of the previous
   * page; one the caller cannot see is a bad cursor.
   */
  async list(
    p: Principal,
    q: { user: string | null; after: string | null; limit: number },
  ): Promise<{ jobs: JobRecord[]; next: string | null }> {
    const admin = p.user.role === "admin";
    if (!admin && q.user !== null && q.user !== p.user.name)
      throw new AppError("forbidden", "only admins list other users' jobs");
    // A user's own jobs; an admin's: everyone's, or the named user's.
    let owner: string | null = p.user.uid;
    if (admin && q.user !== p.user.name) owner = q.user === null ? null : await this.#uidOf(q.user);
    if (q.after !== null) {
      const from = await this.#jobs.getJob(q.after);
      if (!from || (owner !== null && from.owner !== owner))
        throw new AppError("bad_request", "after names no job of this listing");
    }
    // One more than asked says whether another page follows.
    const rows = await this.#jobs.listJobs({ owner, after: q.after, limit: q.limit + 1 });
    const jobs = rows.slice(0, q.limit);
    return { jobs, next: rows.length > q.limit ? jobs.at(-1)!.id : null };
  }

  async #uidOf(name: string): Promise<string> {
    validateUserName(name);
    const user = await this.#accounts.getUserByName(name);
    if (!user) throw new AppError("not_found", `no user named ${name}`);
    return user.uid;
  }

  async #objectCount(owners: string[]): Promise<number> {
    let n = 0;
    for (const o of owners) for (const c of (await this.#objects.countByKekVersion(o)).values()) n += c;
    return n;
  }

  async #create(kind: string, by: string, target: string | null, total: number): Promise<JobRecord> {
    const now = new Date();
    const job: JobRecord = {
      id: `job_${randomBytes(12).toString("hex")}`,
      kind,
      owner: by,
      target,
      state: "running",
      done: 0,
      total,
      error: null,
      cursor: null,
      result: null,
      created: now,
      updated: now,
    };
    await this.#jobs.createJob(job);
    this.#runner.wake();
    return job;
  }
}
