// Who may do what. Routes declare what they need; this decides, in one place.
import type { Role, Scope } from "../store/store.js";
import type { Principal } from "./auth-service.js";

export interface Requirement {
  /** Token scope the route needs (data routes). */
  scope?: Scope;
  /** Role the route needs (user, token and key administration). */
  role?: Role;
  /** Also allowed when the caller is the named user (self-service routes). */
  selfParam?: string;
}

export function isAllowed(p: Principal, req: Requirement, params: Record<string, string | undefined> = {}): boolean {
  if (req.scope && !p.token.scopes.includes(req.scope)) return false;
  if (req.role === "admin" && p.user.role !== "admin") {
    const self = req.selfParam ? params[req.selfParam] : undefined;
    if (self === undefined || self !== p.user.name) return false;
  }
  return true;
}
