// What the account routes (users, tokens, S3 access keys) share: JSON bodies where an empty body
// means "all defaults", the refusal of fields a schema does not name, and 405 for other methods.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import type { Scope } from "../store/records.js";

/** Route config: admins only (user administration). */
export const adminOnly = (scope: Scope) => ({ auth: { role: "admin" as const, scope } });
/** Route config: admins, and the user the `name` parameter names (self-service). */
export const adminOrSelf = (scope: Scope) => ({ auth: { role: "admin" as const, selfParam: "name", scope } });

/** In this plugin's scope, an empty JSON body parses as `{}` (credential requests are all optional). */
export function emptyJsonIsEmptyObject(app: FastifyInstance): void {
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    if ((body as string).trim() === "") return done(null, {});
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new AppError("validation_error", "the body is not valid JSON"), undefined);
    }
  });
}

/**
 * Refuses fields a body schema does not name (the shared validator would drop them silently, and
 * a misspelt `scopes` must not quietly become a credential with every scope).
 */
export function knownFieldsOnly(schema: { properties: object }) {
  const known = Object.keys(schema.properties);
  return async (req: FastifyRequest) => {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) return;
    const unknown = Object.keys(body).find((k) => !known.includes(k));
    if (unknown !== undefined)
      throw new AppError("validation_error", `body has an unknown field ${JSON.stringify(unknown)}`);
  };
}

/** No body at all means "all defaults", like an empty object; then only known fields. */
export function optionalBody(schema: { properties: object }) {
  const known = knownFieldsOnly(schema);
  return async (req: FastifyRequest) => {
    if (req.body === undefined || req.body === null) req.body = {};
    await known(req);
  };
}

/** Methods a resource does not support: 405 with Allow, never 404. */
export function otherMethodsNotAllowed(
  app: FastifyInstance,
  resources: readonly (readonly [url: string, allow: readonly string[]])[],
): void {
  for (const [url, allow] of resources) {
    const others = (["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const).filter(
      (m) => !allow.includes(m),
    );
    app.route({
      method: [...others],
      url,
      config: { public: true },
      schema: { hide: true },
      handler: async (_req, reply) => {
        reply.header("Allow", allow.join(", "));
        throw new AppError("method_not_allowed", `allowed: ${allow.join(", ")}`);
      },
    });
  }
}
