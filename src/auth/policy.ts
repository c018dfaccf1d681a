// Who may do what. Routes declare what they need; this decides, in one place.
//
// - A route's `scope` is checked first: a token without it gets 403, whoever it belongs to.
// - `role: "admin"` routes are closed to other roles with 403 (they reveal nothing about a user).
// - With `selfParam`, the route is also open to the user it names; a non-admin naming someone else
//   gets 404, the same answer as for a user who does not exist, so names never leak.
import type { Role, Scope } from "../store/records.js";
import type { Principal } from "./principal.js";

export interface Requirement {
  /** Token scope the route needs. */
  scope?: Scope;
  /** Role the route needs (user, token and key administration). */
  role?: Role;
  /** Also allowed when the caller is the user named by this path parameter (self-service routes). */
  selfParam?: string;
}

export type Decision =
  | { allowed: true }
  | { allowed: false; code: "forbidden" | "not_found"; detail: string };

const ALLOW: Decision = { allowed: true };

export function decide(
  p: Principal,
  req: Requirement,
  params: Record<string, string | undefined> = {},
): Decision {
  if (req.scope && !p.token.scopes.includes(req.scope))
    return { allowed: false, code: "forbidden", detail: `this token lacks the ${req.scope} scope` };
  if (req.role === "admin" && p.user.role !== "admin") {
    if (!req.selfParam) return { allowed: false, code: "forbidden", detail: "this needs the admin role" };
    const named = params[req.selfParam];
    if (named !== p.user.name) return { allowed: false, code: "not_found", detail: "no such user" };
  }
  return ALLOW;
}

export function isAllowed(
  p: Principal,
  req: Requirement,
  params: Record<string, string | undefined> = {},
): boolean {
  return decide(p, req, params).allowed;
}
