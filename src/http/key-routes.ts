// Key versions, rotation, rewrap and the minimum decryption version: the caller's own under /keys,
// any user's (admin) under /users/{name}/key, and the root key under /admin/root-key.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { NameParams } from "../api/fields.js";
import { JobAccepted } from "../api/jobs.js";
import { KeyInfo, MinVersionRequest, RootKeyInfo } from "../api/keys.js";
import { PATHS } from "../api/paths.js";
import type { UserService } from "../auth/user-service.js";
import type { JobService } from "../jobs/job-service.js";
import type { KeyInfo as KeyState, KeyVersionService } from "../keys/key-version-service.js";
import type { RootKeyProvider } from "../keys/root-key-provider.js";
import type { JobRecord } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

export interface KeyRoutesOptions {
  keyVersions: KeyVersionService;
  jobs: JobService;
  users: UserService;
  root: RootKeyProvider;
}

function keyInfoJson(k: KeyState): KeyInfo {
  return { ...k, versions: k.versions.map((v) => ({ ...v, created: v.created.toISOString() })) };
}

/** 202 with the job id and where to follow it. */
export function accepted(reply: FastifyReply, job: JobRecord) {
  const body: JobAccepted = { jobId: job.id };
  return reply.code(202).header("Location", PATHS.job(job.id)).send(body);
}

export const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (app, opts) => {
  const { keyVersions, jobs } = opts;
  /** The user the path names, or the caller on its own routes. */
  const owner = async (req: FastifyRequest, params: { name?: string }) =>
    params.name === undefined ? principalOf(req).user.uid : (await opts.users.get(params.name)).uid;

  // Each action twice: on the caller's own key, and (admin, or the user itself) on a named user's.
  const routes = [
    { prefix: "/keys", who: "the caller's", params: Type.Object({}), auth: {} },
    {
      prefix: "/users/:name/key",
      who: "a user's (admin)",
      params: NameParams,
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
          params: r.params,
          response: { 200: KeyInfo, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req) => keyInfoJson(await keyVersions.info(await owner(req, req.params))),
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
          params: r.params,
          response: { 200: KeyInfo, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req) => keyInfoJson(await keyVersions.rotate(await owner(req, req.params))),
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
          params: r.params,
          response: { 202: JobAccepted, ...problemResponses(400, 401, 403, 404, 410) },
        },
      },
      async (req, reply) => {
        const uid = await owner(req, req.params);
        await keyVersions.info(uid); // a destroyed key answers 410 here, not in the job
        return accepted(reply, await jobs.startRewrap(principalOf(req).user.uid, uid));
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
          params: r.params,
          body: MinVersionRequest,
          response: { 200: KeyInfo, ...problemResponses(400, 401, 403, 404, 409, 410, 422) },
        },
      },
      async (req) =>
        keyInfoJson(
          await keyVersions.setMinDecryptionVersion(await owner(req, req.params), req.body.version),
        ),
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
          200: RootKeyInfo,
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
    PATHS.rootRotate,
    {
      config: { auth: { role: "admin", scope: "write" } },
      schema: {
        tags: ["keys"],
        summary: "Rotate the root key",
        description:
          "Starts a job: a new root key version, every key-encryption key version rewrapped under it, then the old root versions retired (destroyed). Follow it at GET /jobs/{jobId}.",
        response: { 202: JobAccepted, ...problemResponses(401, 403) },
      },
    },
    async (req, reply) => accepted(reply, await jobs.startRootRotation(principalOf(req).user.uid)),
  );
};
