// The edge's last check on what a request names: no path parameter or query value may hold a NUL
// or another C0 control character (U+0000 to U+001F). No id, name, cursor or token of ours can contain one, and
// PostgreSQL refuses NUL in text (SQLSTATE 22021), so such input is a client mistake (400) before
// it reaches any service or store, whatever the route.
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { hasC0Control } from "../control-characters.js";
import { AppError } from "../errors.js";

function firstControl(values: unknown, where: string): string | null {
  if (values === null || typeof values !== "object") return null;
  for (const [k, v] of Object.entries(values)) {
    const all = Array.isArray(v) ? v : [v];
    for (const s of all) if (typeof s === "string" && hasC0Control(s)) return `${where} ${k}`;
  }
  return null;
}

export function checkNamedInput(req: Pick<FastifyRequest, "params" | "query">): void {
  const bad = firstControl(req.params, "path parameter") ?? firstControl(req.query, "query parameter");
  if (bad !== null) {
    // Object ids have a code of their own; everything else is a malformed request.
    const code = bad === "path parameter id" || bad === "path parameter *" ? "invalid_id" : "bad_request";
    throw new AppError(code, `${bad} must not contain control characters`);
  }
}

export const hostileInputPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("preValidation", async (req) => checkNamedInput(req));
});
