// Background jobs (rewrap, root-key rotation, verify): start, poll GET /jobs/{id}, report the outcome.
import type { Command } from "commander";
import type { Job, JobAccepted, VerifyRequest } from "../../api/jobs.js";
import { PATHS } from "../../api/paths.js";
import { formatBytes } from "../../api/size-format.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { table } from "../output.js";
import { jobProgress } from "../progress.js";

/** A job as GET /jobs/{id} answers it; other servers may list the damage at the top level. */
export type JobView = Job & { damaged?: unknown; damagedIds?: unknown };

/** The ids a job found damaged, wherever the server puts them (`damaged`, `damagedIds`, `result.damaged`). */
export function damagedIds(job: JobView): string[] {
  const raw = job.damaged ?? job.damagedIds ?? job.result?.damaged;
  return Array.isArray(raw)
    ? raw.map((x) => (typeof x === "object" && x && "id" in x ? String(x.id) : String(x)))
    : [];
}

/** How many objects the job found damaged (the listed ids may be capped), or undefined if it does not say. */
export function damagedCount(job: JobView): number | undefined {
  if (typeof job.result?.damagedCount === "number") return job.result.damagedCount;
  const raw = job.damaged ?? job.damagedIds ?? job.result?.damaged;
  return Array.isArray(raw) ? raw.length : undefined;
}

const finished = (job: Job) => job.state !== "running";

export async function fetchJob(ctx: CliContext, id: string): Promise<JobView> {
  return ctx.client().json<JobView>(PATHS.job(id), { notFound: `job ${id}` });
}

export async function waitForJob(ctx: CliContext, id: string): Promise<JobView> {
  const bar = jobProgress(ctx.showProgress, ctx.deps.stderr, `job ${id}`);
  try {
    let delay = Math.min(250, ctx.deps.pollIntervalMs);
    for (;;) {
      const job = await fetchJob(ctx, id);
      bar.update(job);
      if (finished(job)) return job;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, ctx.deps.pollIntervalMs);
    }
  } finally {
    bar.stop();
  }
}

/** `job j1 (verify): done 3008/3008, 4.2 GiB, 0 damaged`: what the job did and what it found. */
export function describeJob(job: Job): string {
  const facts = progressFacts(job);
  const count = damagedCount(job);
  if (count !== undefined) facts.push(`${count} damaged`);
  const progress = facts.join(", ");
  const err = job.error ? `: ${job.error}` : "";
  return `job ${job.id}${job.kind ? ` (${job.kind})` : ""}: ${job.state}${progress ? ` ${progress}` : ""}${err}`;
}

/** `3/10` and, for a verify, `1.2 GiB of 4 GiB` (while it runs) or `4 GiB`: what a job has done. */
function progressFacts(job: Job): string[] {
  const facts = job.total === undefined ? [] : [`${job.done ?? 0}/${job.total}`];
  if (job.bytesDone !== undefined)
    facts.push(
      job.bytesTotal !== undefined && job.state !== "done"
        ? `${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)}`
        : formatBytes(job.bytesDone),
    );
  return facts;
}

/** Prints the job, then fails the command when the job failed or found damaged objects. */
export async function reportJob(ctx: CliContext, job: JobView): Promise<void> {
  const damaged = damagedIds(job);
  const count = Math.max(damagedCount(job) ?? 0, damaged.length);
  const more =
    count > damaged.length
      ? [`… and ${count - damaged.length} more (the server lists ${damaged.length})`]
      : [];
  const orphans = job.result?.orphanedBlobs;
  const orphaned =
    typeof orphans === "number" && orphans > 0
      ? [
          `orphaned blob files: ${orphans} (${formatBytes(Number(job.result?.orphanedBlobBytes ?? 0))}), named by nothing; the maintenance sweep removes them`,
        ]
      : [];
  await ctx.out.result(job, () => [
    describeJob(job),
    ...damaged.map((id) => `damaged: ${id}`),
    ...more,
    ...orphaned,
  ]);
  if (count)
    throw new CliError(`${count} object${count === 1 ? " is" : "s are"} damaged`, ExitCode.integrity);
  if (job.state === "failed") throw new CliError(`job ${job.id} failed${job.error ? `: ${job.error}` : ""}`);
}

/** POSTs a job-starting route; prints the job id, or waits and reports the outcome with --wait. */
export async function startJob(
  ctx: CliContext,
  route: string,
  what: string,
  opts: { wait?: boolean; body?: unknown; notFound?: string },
): Promise<void> {
  const started = await ctx.client().json<JobAccepted | undefined>(route, {
    method: "POST",
    json: opts.body ?? {},
    notFound: opts.notFound,
  });
  const jobId = started?.jobId;
  if (!jobId) throw new CliError(`the server did not return a job id for ${what}`);
  if (!opts.wait) {
    await ctx.out.result(
      { jobId },
      `started ${what}: job ${jobId} (follow it with: ssestore jobs ${jobId} --wait)`,
    );
    return;
  }
  await reportJob(ctx, await waitForJob(ctx, jobId));
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError(`--limit must be a positive integer, not ${value}`, ExitCode.usage);
  return n;
}

const PAGE = 1000;

/** GET /jobs page after page (newest first) until `limit` jobs or the last page. */
async function listJobs(ctx: CliContext, opts: { user?: string; limit?: number }): Promise<void> {
  const jobs: Job[] = [];
  let after: string | null = null;
  do {
    const want = Math.min(PAGE, (opts.limit ?? Number.POSITIVE_INFINITY) - jobs.length);
    const q = new URLSearchParams({ limit: String(want) });
    if (after !== null) q.set("after", after);
    if (opts.user !== undefined) q.set("user", opts.user);
    const page: { jobs: Job[]; next: string | null } = await ctx
      .client()
      .json<{ jobs: Job[]; next: string | null }>(`/jobs?${q}`, {
        notFound: opts.user === undefined ? undefined : `user ${opts.user}`,
      });
    jobs.push(...page.jobs);
    after = page.next;
  } while (after !== null && jobs.length < (opts.limit ?? Number.POSITIVE_INFINITY));
  await ctx.out.result({ jobs }, () =>
    jobs.length === 0
      ? ["no jobs"]
      : table(
          jobs.map((j) => [
            j.id,
            j.kind ?? "",
            j.state,
            progressOf(j),
            typeof j.startedBy === "string" ? j.startedBy : "(deleted)",
            typeof j.created === "string" ? j.created.replace(/\.\d+Z$/, "Z") : "",
          ]),
          ["ID", "KIND", "STATE", "PROGRESS", "STARTED BY", "CREATED"],
        ),
  );
}

/** `3/10` and, for a verify, `1.2 GiB of 4 GiB`; `, 2 damaged` when it found any. */
function progressOf(job: Job): string {
  const facts = progressFacts(job);
  const damaged = damagedCount(job);
  if (damaged) facts.push(`${damaged} damaged`);
  return facts.join(", ");
}

export function registerJobs(program: Command, ctx: CliContext): void {
  program
    .command("jobs")
    .description("list your background jobs (admins: everyone's), or show one; --wait follows it to the end")
    .argument("[id]", "job id (none: list the jobs, newest first)")
    .option("--wait", "poll until the job is done or failed, with a progress bar")
    .option("--user <name>", "list only this user's jobs (admin)")
    .option("--limit <n>", "list at most n jobs", parseLimit)
    .action(async (id: string | undefined, opts: { wait?: boolean; user?: string; limit?: number }) => {
      if (id === undefined) {
        if (opts.wait) throw new CliError("--wait needs a job id", ExitCode.usage);
        await listJobs(ctx, opts);
        return;
      }
      if (opts.user !== undefined || opts.limit !== undefined)
        throw new CliError("--user and --limit list jobs: give no job id", ExitCode.usage);
      const job = opts.wait ? await waitForJob(ctx, id) : await fetchJob(ctx, id);
      await reportJob(ctx, job);
    });

  program
    .command("verify")
    .description("check that every object decrypts and authenticates; exits 5 if any is damaged")
    .option("--user <name>", "verify this user's objects (admin)")
    .option("--all", "verify every user's objects (admin)")
    .option("--wait", "wait for the job and report damaged ids")
    .action(async (opts: { user?: string; all?: boolean; wait?: boolean }) => {
      if (opts.all && opts.user !== undefined)
        throw new CliError("use either --all or --user, not both", ExitCode.usage);
      // An admin verifies every object, or one user's; anyone their own.
      const body: VerifyRequest | undefined = opts.all
        ? {}
        : opts.user === undefined
          ? undefined
          : { user: opts.user };
      await startJob(ctx, body === undefined ? PATHS.verifySelf : PATHS.verifyAll, "verify", {
        wait: opts.wait,
        body,
      });
    });
}
