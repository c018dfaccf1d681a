// `ssestore verify`: starts a verify job on the server, shows its progress, prints each damaged
// object and says by its exit code whether everything authenticated. Client code only: HTTP.
import type { Writable } from "node:stream";
import cliProgress from "cli-progress";
import { JOB_PATHS } from "../http/job-paths.js";

export const VERIFY_EXIT = { clean: 0, damaged: 1, failed: 2 } as const;

export interface VerifyCommandOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000. */
  url: string;
  token: string;
  /** Only this user's objects (admin). Default: every object, or the caller's own for a non-admin. */
  user?: string;
  /** Damaged objects, one per line: owner, id, error, tab-separated. */
  out: Writable & { isTTY?: boolean };
  /** Progress and the summary. A progress bar when it is a terminal, else a line now and then. */
  err: Writable & { isTTY?: boolean };
  pollMs?: number;
}

interface Job {
  id: string;
  state: "running" | "done" | "failed";
  done: number;
  total: number;
  error?: string;
  result?: {
    damaged: { owner: string; id: string; error: string }[];
    damagedCount: number;
    truncated: boolean;
  };
}

class CommandError extends Error {}

async function call(
  o: VerifyCommandOptions,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method: body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${o.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CommandError(`cannot reach ${o.url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: reported below by status
  }
  return { status: res.status, json };
}

function problem(what: string, r: { status: number; json: unknown }): CommandError {
  const p = r.json as { detail?: string; title?: string } | null;
  return new CommandError(`${what}: ${r.status} ${p?.detail ?? p?.title ?? ""}`.trimEnd());
}

/** Runs the command; resolves with the process exit code. */
export async function verifyCommand(o: VerifyCommandOptions): Promise<number> {
  const say = (line: string) => o.err.write(`${line}\n`);
  try {
    let started =
      o.user !== undefined
        ? await call(o, JOB_PATHS.verifyAll, { user: o.user })
        : await call(o, JOB_PATHS.verifyAll, {});
    if (started.status === 403 && o.user === undefined) {
      say("verify: not an admin; verifying your own objects");
      started = await call(o, JOB_PATHS.verifySelf, {});
    }
    if (started.status !== 202) throw problem("could not start the verify job", started);
    const { jobId } = started.json as { jobId: string };
    const job = await follow(o, jobId, say);
    if (job.state === "failed") {
      say(`verify: the job failed: ${job.error ?? "unknown error"}`);
      return VERIFY_EXIT.failed;
    }
    const result = job.result ?? { damaged: [], damagedCount: 0, truncated: false };
    for (const d of result.damaged) o.out.write(`${d.owner}\t${d.id}\t${d.error}\n`);
    if (result.damagedCount === 0) {
      say(`verify: ${job.done} object(s) read and authenticated; none damaged`);
      return VERIFY_EXIT.clean;
    }
    say(
      `verify: ${result.damagedCount} of ${job.done} object(s) damaged` +
        (result.truncated ? ` (the first ${result.damaged.length} listed; job ${jobId} on the server)` : ""),
    );
    return VERIFY_EXIT.damaged;
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    say(`verify: ${e.message}`);
    return VERIFY_EXIT.failed;
  }
}

async function follow(o: VerifyCommandOptions, jobId: string, say: (line: string) => void): Promise<Job> {
  const bar = o.err.isTTY
    ? new cliProgress.SingleBar(
        {
          stream: o.err as NodeJS.WritableStream,
          format: "verify [{bar}] {value}/{total} objects",
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let lastLine = 0;
  try {
    for (let first = true; ; first = false) {
      const r = await call(o, JOB_PATHS.job(jobId));
      if (r.status !== 200) throw problem(`could not follow job ${jobId}`, r);
      const job = r.json as Job;
      if (bar) {
        if (first) bar.start(Math.max(job.total, job.done), job.done);
        bar.setTotal(Math.max(job.total, job.done));
        bar.update(job.done);
      } else if (job.state !== "running" || Date.now() - lastLine >= 2000) {
        lastLine = Date.now();
        say(`verify: ${job.done} of ${job.total} object(s)`);
      }
      if (job.state !== "running") return job;
      await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 500));
    }
  } finally {
    bar?.stop();
  }
}
