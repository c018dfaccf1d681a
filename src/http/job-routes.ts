// Background jobs: following one (GET /jobs/{id}) and starting a verify (the other jobs start from
// the key routes).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import {
  Job,
  JobAccepted,
  JobList,
  JobListQuery,
  JobParams,
  type JobResult,
  VerifyRequest,
} from "../api/jobs.js";
import { PATHS } from "../api/paths.js";
import type { UserService } from "../auth/user-service.js";
import type { JobService } from "../jobs/job-service.js";
import type { JobRecord } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { accepted } from "./key-routes.js";
import { problemResponses } from "./openapi.js";

export interface JobRoutesOptions {
  jobs: JobService;
  users: UserService;
}

export function jobJson(job: JobRecord, startedBy?: string | null): Job {
  let result: JobResult | null = job.result === null ? null : JSON.parse(job.result);
  let bytesDone: unknown;
  let bytesTotal: unknown;
  // A verify job keeps its byte progress with its result (the record's one free-form field).
  if (result !== null && typeof result === "object" && !Array.isArray(result))
    ({ bytesDone, bytesTotal, ...result } = result);
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    done: job.done,
    total: job.total,
    ...(typeof bytesDone === "number" ? { bytesDone } : {}),
    ...(typeof bytesTotal === "number" ? { bytesTotal } : {}),
    ...(job.error === null ? {} : { error: job.error }),
    ...(result === null ? {} : { result }),
    ...(startedBy === undefined ? {} : { startedBy }),
    created: job.created.toISOString(),
    updated: job.updated.toISOString(),
  };
}

export const jobRoutes: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, opts) => {
  const { jobs, users } = opts;

  app.get(
    "/jobs",
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["jobs"],
        summary: "List jobs, newest first",
        description:
          "A user sees the jobs it started; an admin sees every job, or one user's with `user`. `next` is the `after` of the next page (null on the last).",
        querystring: JobListQuery,
        response: {
          200: JobList,
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (req) => {
      const q = req.query;
      const p = principalOf(req);
      const page = await jobs.list(p, { user: q.user ?? null, after: q.after ?? null, limit: q.limit });
      // One lookup per user starting jobs on the page, not one per job.
      const names = new Map<string, string | null>();
      for (const j of page.jobs) if (!names.has(j.owner)) names.set(j.owner, await users.nameOf(j.owner));
      return { jobs: page.jobs.map((j) => jobJson(j, names.get(j.owner))), next: page.next };
    },
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's state, progress and result",
        description:
          "Visible to the user who started the job and to admins; to anyone else it does not exist (404).",
        params: JobParams,
        response: { 200: Job, ...problemResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const job = await jobs.get(req.params.id, principalOf(req));
      return jobJson(job, await users.nameOf(job.owner));
    },
  );

  app.post(
    PATHS.verifySelf,
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["jobs"],
        summary: "Verify the caller's objects",
        description:
          "Starts a job that reads and authenticates every object of the caller; its result lists each damaged one. Follow it at GET /jobs/{jobId}.",
        response: { 202: JobAccepted, ...problemResponses(401, 403) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return accepted(reply, await jobs.startVerify(p.user.uid, p.user.uid));
    },
  );

  app.post(
    PATHS.verifyAll,
    {
      config: { auth: { role: "admin", scope: "read" } },
      schema: {
        tags: ["jobs"],
        summary: "Verify every object, or one user's",
        description:
          "Starts a job that reads and authenticates every object (of `user` when given); its result lists each damaged one. Follow it at GET /jobs/{jobId}.",
        body: VerifyRequest,
        response: { 202: JobAccepted, ...problemResponses(400, 401, 403, 404, 422) },
      },
    },
    async (req, reply) => {
      const name = req.body?.user;
      const owner = name === undefined ? null : (await users.get(name)).uid;
      return accepted(reply, await jobs.startVerify(principalOf(req).user.uid, owner));
    },
  );
};
