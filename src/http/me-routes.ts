// GET /me: who the presented token belongs to, and what it may do.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Me } from "../api/users.js";
import { AppError } from "../errors.js";
import { meJson } from "./account-json.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

export const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/me",
    {
      config: { auth: {} },
      schema: {
        tags: ["users"],
        summary: "The caller: its user and the token it presented",
        response: { 200: Me, ...problemResponses(401, 429) },
      },
    },
    async (req) => meJson(principalOf(req)),
  );
  app.route({
    method: ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    url: "/me",
    config: { public: true },
    schema: { hide: true },
    handler: async (_req, reply) => {
      reply.header("Allow", "GET");
      throw new AppError("method_not_allowed", "allowed: GET");
    },
  });
};
