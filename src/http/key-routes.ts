// Key versions, rotation, rewrap and the minimum decryption version: the caller's own under /keys,
// any user's (admin) under /users/{name}/key, and the root key under /admin/root-key.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { UserService } from "../auth/user-service.js";
import type { JobService } from "../jobs/job-service.js";
import type { KeyInfo, KeyVersions } from "../keys/key-versions.js";
import type { RootKeyProvider } from "../keys/root-key-provider.js";
import type { JobRecord } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { JOB_PATHS } from "./job-paths.js";
import { problemResponses } from "./schemas.js";

export interface KeyRoutesOptions {
  keyVersions: KeyVersions;
  jobs: JobService;
  users: UserService;
  root: RootKeyProvider;
}

export const keyInfoSchema = {
  type: "object",
  required: ["primaryVersion", "minDecryptionVersion", "versions"],
  properties: {
    primaryVersion: { type: "integer", description: "The version new writes use" },
    minDecryptionVersion: { type: "integer", description: "Versions below it were retired and destroyed" },
    versions: {
      type: "array",
      items: {
        type: "object",
        required: ["version", "created", "objects", "accessKeys"],
        properties: {
          version: { type: "integer" },
          created: { type: "string", format: "date-time" },
          objects: { type: "integer", description: "Objects whose data key this version wraps" },
          accessKeys: {
            type: "integer",
            description: "S3 access keys whose secret this version wraps (a rewrap moves them too)",
          },
        },
      },
    },
  },
} as const;

export const jobAcceptedSchema = {
  type: "object",
  required: ["jobId"],
  properties: { jobId: { type: "string", description: "Follow it at GET /jobs/{jobId}" } },
} as const;

const nameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", description: "User name" } },
} as const;

const minVersionBody = {
  type: "object",
  required: ["version"],
  additionalProperties: false,
  properties: { version: { type: "integer", minimum: 1, maximum: 0xffffffff } },
} as const;

function keyInfoJson(k: KeyInfo) {
  return { ...k, versions: k.versions.map((v) => ({ ...v, created: v.created.toISOString() })) };
}

/** 202 with the job id and where to follow it. */
export function accepted(reply: FastifyReply, job: JobRecord) {
  return reply.code(202).header("Location", JOB_PATHS.job(job.id)).send({ jobId: job.id });
}

export async function keyRoutes(app: FastifyInstance, opts: KeyRoutesOptions): Promise<void> {
  const { keyVersions, jobs } = opts;
  const self = (req: FastifyRequest) => principalOf(req).user.uid;
  const named = async (req: FastifyRequest) =>
    (await opts.users.get((req.params as { name: string }).name)).uid;

  // Each action twice: on the caller's own key, and (admin, or the user itself) on a named user's.
  const routes = [
    { prefix: "/keys", owner: self, who: "the caller's", params: undefined, auth: {} },
    {
      prefix: "/users/:name/key",
      owner: named,
      who: "a user's (admin)",
      params: nameParams,
      auth: { role: "admin" as const, selfParam: "name" },
    },
  ];
  for (const r of routes) {
    app.get(
      r.prefix,
      {
        config: { auth: { ...r.auth, scope: "read" } },
        schema: {
          tags: ["keys"],
          summary: `List ${r.who} key versions`,
          ...(r.params ? { params: r.params } : {}),
          response: { 200: keyInfoSchema, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req) => keyInfoJson(await keyVersions.info(await r.owner(req))),
    );
    app.post(
      `${r.prefix}/rotate`,
      {
        config: { auth: { ...r.auth, scope: "write" } },
        schema: {
          tags: ["keys"],
          summary: `Rotate ${r.who} key`,
          description:
            "Adds a key version and makes it primary: new writes use it; older versions still decrypt.",
          ...(r.params ? { params: r.params } : {}),
          response: { 200: keyInfoSchema, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req) => keyInfoJson(await keyVersions.rotate(await r.owner(req))),
    );
    app.post(
      `${r.prefix}/rewrap`,
      {
        config: { auth: { ...r.auth, scope: "write" } },
        schema: {
          tags: ["keys"],
          summary: `Rewrap ${r.who} data keys to the primary version`,
          description:
            "Starts a job that rewraps every data key of the user under the primary key version, without re-encrypting data, and then the secrets of the user's S3 access keys. Follow it at GET /jobs/{jobId}.",
          ...(r.params ? { params: r.params } : {}),
          response: { 202: jobAcceptedSchema, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req, reply) => {
        const owner = await r.owner(req);
        await keyVersions.info(owner); // a destroyed key answers 410 here, not in the job
        return accepted(reply, await jobs.startRewrap(principalOf(req).user.uid, owner));
      },
    );
    app.post(
      `${r.prefix}/min-decryption-version`,
      {
        config: { auth: { ...r.auth, scope: "write" } },
        schema: {
          tags: ["keys"],
          summary: `Raise ${r.who} minimum decryption version`,
          description:
            "Versions below it stop decrypting and are destroyed, for good. 409 `key_version_in_use` while an object or an S3 access key still uses one of them (rewrap first); 409 `conflict` for a version above the primary or below the current minimum.",
          ...(r.params ? { params: r.params } : {}),
          body: minVersionBody,
          response: { 200: keyInfoSchema, ...problemResponses(400, 401, 403, 404, 409, 410, 422) },
        },
      },
      async (req) => {
        const { version } = req.body as { version: number };
        return keyInfoJson(await keyVersions.setMinDecryptionVersion(await r.owner(req), version));
      },
    );
  }

  app.get(
    "/admin/root-key",
    {
      config: { auth: { role: "admin", scope: "read" } },
      schema: {
        tags: ["keys"],
        summary: "The root key's versions",
        response: {
          200: {
            type: "object",
            required: ["provider", "primaryVersion", "versions"],
            properties: {
              provider: { type: "string", enum: ["file", "passphrase", "pkcs11"] },
              primaryVersion: { type: "integer" },
              versions: { type: "array", items: { type: "integer" } },
            },
          },
          ...problemResponses(401, 403),
        },
      },
    },
    async () => ({
      provider: opts.root.name,
      primaryVersion: opts.root.primaryVersion(),
      versions: opts.root.versions(),
    }),
  );
  app.post(
    JOB_PATHS.rootRotate,
    {
      config: { auth: { role: "admin", scope: "write" } },
      schema: {
        tags: ["keys"],
        summary: "Rotate the root key",
        description:
          "Starts a job: a new root key version, every key-encryption key version rewrapped under it, then the old root versions retired (destroyed). Follow it at GET /jobs/{jobId}.",
        response: { 202: jobAcceptedSchema, ...problemResponses(401, 403) },
      },
    },
    async (req, reply) => accepted(reply, await jobs.startRootRotation(principalOf(req).user.uid)),
  );
}
