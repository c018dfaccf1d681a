// /users/{name}/access-keys: S3 access keys, under the same rules as /users/{name}/tokens (admin or
// the user itself; 404 when a non-admin names someone else; read scope to list, write to change;
// an admin issues another user's keys only while it is enrolling).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { AccessKeyInfo, AccessKeyParams, createAccessKeyRequest, NewAccessKey } from "../api/access-keys.js";
import { NameParams, NoContent } from "../api/fields.js";
import type { AccessKeyService } from "../auth/access-key-service.js";
import { accessKeyInfoJson, CREDENTIAL_LIMITS, newAccessKeyJson } from "./account-json.js";
import {
  adminOrSelf,
  emptyJsonIsEmptyObject,
  optionalBody,
  otherMethodsNotAllowed,
} from "./account-route-helpers.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

export interface AccessKeyRoutesOptions {
  accessKeys: AccessKeyService;
}

const createAccessKeyBody = createAccessKeyRequest(CREDENTIAL_LIMITS);

export const accessKeyRoutes: FastifyPluginAsyncTypebox<AccessKeyRoutesOptions> = async (app, opts) => {
  const { accessKeys } = opts;
  emptyJsonIsEmptyObject(app);

  app.post(
    "/users/:name/access-keys",
    {
      config: adminOrSelf("write"),
      preValidation: optionalBody(createAccessKeyBody),
      schema: {
        tags: ["users"],
        summary: "Create an S3 access key (the user itself; an admin only while the user is enrolling)",
        description:
          "For the S3 API (SSE_S3_PORT, default 9000): the access key id and the secret access key sign requests with AWS Signature Version 4. The secret is shown only in this response; the server keeps it encrypted under the user's key-encryption key. The same rules as tokens: the key gets at most the scopes and the lifetime of the token that asks for it (403 otherwise; by default exactly those), and an admin may create another user's keys only while that user is enrolling (403 enrolled afterwards; see POST /users/{name}/reset).",
        params: NameParams,
        body: createAccessKeyBody,
        response: { 201: NewAccessKey, ...problemResponses(400, 401, 403, 404, 422, 429) },
      },
    },
    async (req, reply) => {
      const issued = await accessKeys.create(principalOf(req), req.params.name, req.body);
      reply.code(201).header("Cache-Control", "no-store");
      return newAccessKeyJson(issued.record, issued.secret);
    },
  );

  app.get(
    "/users/:name/access-keys",
    {
      config: adminOrSelf("read"),
      schema: {
        tags: ["users"],
        summary: "List a user's S3 access keys, without secrets (admin, or the user itself)",
        params: NameParams,
        response: {
          200: Type.Array(AccessKeyInfo),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (req) => (await accessKeys.list(req.params.name)).map(accessKeyInfoJson),
  );

  app.delete(
    "/users/:name/access-keys/:accessKeyId",
    {
      config: adminOrSelf("write"),
      schema: {
        tags: ["users"],
        summary: "Revoke an S3 access key (admin, or the user itself)",
        description: "Refused from the next S3 request on, on every server instance.",
        params: AccessKeyParams,
        response: {
          204: NoContent("Revoked"),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (req, reply) => {
      await accessKeys.revoke(principalOf(req), req.params.name, req.params.accessKeyId);
      return reply.code(204).send();
    },
  );

  otherMethodsNotAllowed(app, [
    ["/users/:name/access-keys", ["GET", "POST"]],
    ["/users/:name/access-keys/:accessKeyId", ["DELETE"]],
  ]);
};
