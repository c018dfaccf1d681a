// Background jobs: following one (GET /jobs/{id}) and starting a verify (the other jobs start from
// the key routes).
import type { FastifyInstance } from "fastify";
import type { UserService } from "../auth/user-service.js";
import { AppError } from "../errors.js";
import type { JobService } from "../jobs/job-service.js";
import type { JobRecord } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { JOB_PATHS } from "./job-paths.js";
import { accepted, jobAcceptedSchema } from "./key-routes.js";
import { problemResponses } from "./schemas.js";

export interface JobRoutesOptions {
  jobs: JobService;
  users: UserService;
}

export const jobSchema = {
  type: "object",
  required: ["id", "kind", "state", "done", "total", "created", "updated"],
  properties: {
    id: { type: "string" },
    kind: { type: "string", enum: ["rewrap", "root-rotate", "verify"] },
    state: { type: "string", enum: ["running", "done", "failed"] },
    done: { type: "integer", description: "Items handled so far (objects; key versions for root-rotate)" },
    total: { type: "integer", description: "Items expected (grows when more appear while the job runs)" },
    bytesDone: {
      type: "integer",
      description: "verify: bytes read and authenticated so far, the object under way included",
    },
    bytesTotal: {
      type: "integer",
      description: "verify: bytes to read (known after a first pass over the metadata; grows like total)",
    },
    error: { type: "string", description: "Why the job failed" },
    result: {
      type: "object",
      additionalProperties: true,
      description:
        "What the job found. verify and rewrap: `{damaged: [{owner, id, error}], damagedCount, truncated}` (at most 1000 listed); root-rotate: `{rootVersion, retired: [versions]}`",
    },
    startedBy: {
      type: ["string", "null"],
      description: "The name of the user who started the job (null once that user is deleted)",
    },
    created: { type: "string", format: "date-time" },
    updated: { type: "string", format: "date-time" },
  },
} as const;

const LIST_LIMIT = 1000;

export function jobJson(job: JobRecord, startedBy?: string | null) {
  let result: unknown = job.result === null ? null : JSON.parse(job.result);
  let bytesDone: unknown;
  let bytesTotal: unknown;
  // A verify job keeps its byte progress with its result (the record's one free-form field).
  if (result !== null && typeof result === "object" && !Array.isArray(result))
    ({ bytesDone, bytesTotal, ...result } = result as Record<string, unknown>);
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

export async function jobRoutes(app: FastifyInstance, opts: JobRoutesOptions): Promise<void> {
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
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: LIST_LIMIT, default: 100 },
            after: {
              type: "string",
              minLength: 1,
              maxLength: 100,
              description: "The last job of the previous page",
            },
            user: {
              type: "string",
              minLength: 1,
              maxLength: 200,
              description: "Only this user's jobs (admins; a user may name itself)",
            },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["jobs", "next"],
            properties: { jobs: { type: "array", items: jobSchema }, next: { type: ["string", "null"] } },
          },
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; after?: string; user?: string };
      const p = principalOf(req);
      const ownerUid =
        q.user === undefined ? null : q.user === p.user.name ? p.user.uid : await userUid(q.user, p);
      const page = await jobs.list(p, { ownerUid, after: q.after ?? null, limit: q.limit });
      // One lookup per user starting jobs on the page, not one per job.
      const names = new Map<string, string | null>();
      for (const j of page.jobs) if (!names.has(j.owner)) names.set(j.owner, await users.nameOf(j.owner));
      return { jobs: page.jobs.map((j) => jobJson(j, names.get(j.owner))), next: page.next };
    },
  );

  /** Another user's uid, for an admin; a user naming someone else is refused before the lookup. */
  async function userUid(name: string, p: ReturnType<typeof principalOf>): Promise<string> {
    if (p.user.role !== "admin") throw new AppError("forbidden", "only admins list other users' jobs");
    return (await users.get(name)).uid;
  }

  app.get(
    "/jobs/:id",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's state, progress and result",
        description:
          "Visible to the user who started the job and to admins; to anyone else it does not exist (404).",
        params: { type: "object", required: ["id"], properties: { id: { type: "string", maxLength: 100 } } },
        response: { 200: jobSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const job = await jobs.get((req.params as { id: string }).id, principalOf(req));
      return jobJson(job, await users.nameOf(job.owner));
    },
  );

  app.post(
    JOB_PATHS.verifySelf,
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["jobs"],
        summary: "Verify the caller's objects",
        description:
          "Starts a job that reads and authenticates every object of the caller; its result lists each damaged one. Follow it at GET /jobs/{jobId}.",
        response: { 202: jobAcceptedSchema, ...problemResponses(401, 403) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return accepted(reply, await jobs.startVerify(p.user.uid, p.user.uid));
    },
  );

  app.post(
    JOB_PATHS.verifyAll,
    {
      config: { auth: { role: "admin", scope: "read" } },
      schema: {
        tags: ["jobs"],
        summary: "Verify every object, or one user's",
        description:
          "Starts a job that reads and authenticates every object (of `user` when given); its result lists each damaged one. Follow it at GET /jobs/{jobId}.",
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { user: { type: "string", description: "Only this user's objects" } },
        },
        response: { 202: jobAcceptedSchema, ...problemResponses(400, 401, 403, 404, 422) },
      },
    },
    async (req, reply) => {
      const name = (req.body as { user?: string } | null | undefined)?.user;
      const owner = name === undefined ? null : (await users.get(name)).uid;
      return accepted(reply, await jobs.startVerify(principalOf(req).user.uid, owner));
    },
  );
}
