// Bearer authentication for every route not marked public, with per-address throttling of
// failures, and the policy check each route declares in its config. A throttled address still
// gets through with a valid token: only guesses are refused, so a client behind the same NAT as a
// misbehaving one keeps working.
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { AuthService } from "../auth/auth-service.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import { decide, type Requirement } from "../auth/policy.js";
import type { Principal } from "../auth/principal.js";
import { AppError } from "../errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** No token needed inside the authenticated scope (signed download links). */
    public?: boolean;
    auth?: Requirement;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthPluginOptions {
  auth: AuthService;
  limiter: FailureLimiter;
  onFailure?: (reason: string) => void;
  /** A presented token refused ("invalid") or a refusal for too many failures ("throttled"): the audit log. */
  onRefused?: (request: FastifyRequest, reason: "invalid" | "throttled") => Promise<void>;
}

const REALM = 'Bearer realm="sse-store"';

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError("unauthorized", "a bearer token is required");
  return request.principal;
}

export const authPlugin = fp(async (app: FastifyInstance, opts: AuthPluginOptions) => {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request) => {
    const cfg = request.routeOptions.config;
    if (cfg?.public || request.is404) return;
    const header = request.headers.authorization;
    const m = typeof header === "string" ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    const address = request.ip;
    if (!m) {
      opts.onFailure?.("missing");
      throw new AppError("unauthorized", "a bearer token is required", { "WWW-Authenticate": REALM });
    }
    const principal = await opts.auth.authenticate(m[1]!);
    if (!principal) {
      opts.onFailure?.("invalid");
      const wait = opts.limiter.retryAfter(address);
      await opts.onRefused?.(request, wait > 0 ? "throttled" : "invalid");
      if (wait > 0)
        throw new AppError("too_many_requests", "too many failed authentications; retry later", {
          "Retry-After": String(wait),
        });
      opts.limiter.fail(address);
      throw new AppError("unauthorized", "the token is unknown, expired or revoked", {
        "WWW-Authenticate": `${REALM}, error="invalid_token"`,
      });
    }
    request.principal = principal;
    const need = cfg?.auth;
    if (need) {
      const d = decide(principal, need, request.params as Record<string, string | undefined>);
      if (!d.allowed) throw new AppError(d.code, d.detail);
    }
  });
});
