// /users: user and token administration. Admin routes answer 403 to other roles; routes open to
// the named user too answer 404 when a non-admin names someone else (as for a missing user).
// Reading needs the `read` scope, every change the `write` scope.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { NameParams, NoContent } from "../api/fields.js";
import { createTokenRequest, NewToken, ResetToken, TokenInfo, TokenParams } from "../api/tokens.js";
import { CreateUserRequest, User } from "../api/users.js";
import type { UserService } from "../auth/user-service.js";
import { CREDENTIAL_LIMITS, newTokenJson, tokenInfoJson, userJson } from "./account-json.js";
import {
  adminOnly,
  adminOrSelf,
  emptyJsonIsEmptyObject,
  knownFieldsOnly,
  optionalBody,
  otherMethodsNotAllowed,
} from "./account-route-helpers.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

export interface UserRoutesOptions {
  users: UserService;
}

const createTokenBody = createTokenRequest(CREDENTIAL_LIMITS);

export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, opts) => {
  const { users } = opts;

  // Token creation takes an optional body: an empty JSON body means "all defaults".
  emptyJsonIsEmptyObject(app);

  app.post(
    "/users",
    {
      config: adminOnly("write"),
      preValidation: knownFieldsOnly(CreateUserRequest),
      schema: {
        tags: ["users"],
        summary: "Create a user (admin)",
        description:
          "Creates the user and its own key-encryption key. It has no token yet: issue one with POST /users/{name}/tokens.",
        body: CreateUserRequest,
        response: { 201: User, ...problemResponses(400, 401, 403, 409, 422, 429) },
      },
    },
    async (req, reply) => {
      const user = await users.create(req.body.name, req.body.role, principalOf(req));
      reply.code(201).header("Location", `/users/${user.name}`);
      return userJson(user);
    },
  );

  app.get(
    "/users",
    {
      config: adminOnly("read"),
      schema: {
        tags: ["users"],
        summary: "List users (admin)",
        response: { 200: Type.Array(User), ...problemResponses(401, 403, 429) },
      },
    },
    async () => (await users.list()).map(userJson),
  );

  app.get(
    "/users/:name",
    {
      config: adminOrSelf("read"),
      schema: {
        tags: ["users"],
        summary: "One user (admin, or the user itself)",
        params: NameParams,
        response: { 200: User, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (req) => userJson(await users.get(req.params.name)),
  );

  app.delete(
    "/users/:name",
    {
      config: adminOnly("write"),
      schema: {
        tags: ["users"],
        summary: "Delete a user, its tokens and objects, and destroy its keys (admin)",
        description:
          "Destroys the user's key-encryption keys, so no copy of its ciphertext (backups included) can be decrypted again. An admin cannot delete itself (409 cannot_delete_self), and the last admin stays (409 last_admin).",
        params: NameParams,
        response: {
          204: NoContent("Deleted"),
          ...problemResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (req, reply) => {
      await users.delete(principalOf(req), req.params.name);
      return reply.code(204).send();
    },
  );

  app.post(
    "/users/:name/tokens",
    {
      config: adminOrSelf("write"),
      preValidation: optionalBody(createTokenBody),
      schema: {
        tags: ["users"],
        summary: "Issue a token (the user itself; an admin only while the user is enrolling)",
        description:
          "The token is shown only in this response; only its hash is stored. Needs the write scope, so a read-only token cannot manage tokens. The new token gets at most the scopes and the lifetime of the token that asks for it (403 otherwise); by default exactly those. An admin may issue another user's tokens only while that user is enrolling, i.e. has not yet authenticated with a credential of its own (403 enrolled afterwards; see POST /users/{name}/reset).",
        params: NameParams,
        body: createTokenBody,
        response: { 201: NewToken, ...problemResponses(400, 401, 403, 404, 422, 429) },
      },
    },
    async (req, reply) => {
      const issued = await users.issueToken(principalOf(req), req.params.name, req.body);
      reply.code(201).header("Cache-Control", "no-store");
      return newTokenJson(issued.record, issued.token);
    },
  );

  app.post(
    "/users/:name/reset",
    {
      config: adminOnly("write"),
      preValidation: optionalBody(createTokenBody),
      schema: {
        tags: ["users"],
        summary: "Reset a user: revoke every credential, issue one enrollment token (admin)",
        description:
          "Break-glass access to an account, never silent: every token (and S3 access key) of the user is revoked at once, the user is enrolling again, and the one new token is returned here (listed with issuedBy `reset`). Logged at warn. The body is optional, as for POST /users/{name}/tokens; the token gets at most the scopes and the lifetime of the admin's own token. An admin cannot reset itself (409 cannot_reset_self).",
        params: NameParams,
        body: createTokenBody,
        response: { 201: ResetToken, ...problemResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (req, reply) => {
      const issued = await users.reset(principalOf(req), req.params.name, req.body);
      reply.code(201).header("Cache-Control", "no-store");
      return { ...newTokenJson(issued.record, issued.token), revoked: issued.revoked };
    },
  );

  app.get(
    "/users/:name/tokens",
    {
      config: adminOrSelf("read"),
      schema: {
        tags: ["users"],
        summary: "List a user's tokens, without secrets (admin, or the user itself)",
        params: NameParams,
        response: {
          200: Type.Array(TokenInfo),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (req) => (await users.listTokens(req.params.name)).map(tokenInfoJson),
  );

  app.delete(
    "/users/:name/tokens/:id",
    {
      config: adminOrSelf("write"),
      schema: {
        tags: ["users"],
        summary: "Revoke a token (admin, or the user itself)",
        description: "Takes effect on the next request, on every server instance.",
        params: TokenParams,
        response: {
          204: NoContent("Revoked"),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (req, reply) => {
      await users.revokeToken(principalOf(req), req.params.name, req.params.id);
      return reply.code(204).send();
    },
  );

  otherMethodsNotAllowed(app, [
    ["/users", ["GET", "POST"]],
    ["/users/:name", ["GET", "DELETE"]],
    ["/users/:name/tokens", ["GET", "POST"]],
    ["/users/:name/reset", ["POST"]],
    ["/users/:name/tokens/:id", ["DELETE"]],
  ]);
};
