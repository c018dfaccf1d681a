// The console's API client: JSON calls with the bearer token (never in a URL), problem+json turned
// into ApiError with a message a person can act on. The shapes and paths are the server's own
// (src/api/): types only, and the path builders, which import nothing.
import type { Job, JobList } from "../../src/api/jobs.js";
import type { KeyInfo, MinVersionRequest, RootKeyInfo } from "../../src/api/keys.js";
import type { FolderPage, Link, LinkRequest } from "../../src/api/objects.js";
import { keyPaths, PATHS } from "../../src/api/paths.js";
import type { Problem } from "../../src/api/problem.js";
import type { CreateTokenRequest, NewToken, ResetToken, TokenInfo } from "../../src/api/tokens.js";
import type { CreateUserRequest, Me, User } from "../../src/api/users.js";

export type { AccessKeyInfo, NewAccessKey } from "../../src/api/access-keys.js";
export type { Job } from "../../src/api/jobs.js";
export type { KeyInfo, RootKeyInfo } from "../../src/api/keys.js";
export type { FolderPage, ListedObject, ObjectInfo } from "../../src/api/objects.js";
export type { NewToken, ResetToken, TokenInfo } from "../../src/api/tokens.js";
export type { Me, User } from "../../src/api/users.js";
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

let token: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setToken(t: string | null): void {
  token = t;
}

export function bearer(): string | null {
  return token;
}

/** Called when a signed-in call is answered 401: the token was revoked or expired meanwhile. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export function problemToError(status: number, body: unknown, retryAfter?: string | null): ApiError {
  const p = (body && typeof body === "object" ? body : {}) as Partial<Problem>;
  const code = p.code ?? `http_${status}`;
  const wait = retryAfter ? Number(retryAfter) : undefined;
  return new ApiError(status, code, humanMessage(status, code, p.detail ?? p.title, wait), wait);
}

function humanMessage(status: number, code: string, detail: string | undefined, wait?: number): string {
  switch (code) {
    case "unauthorized":
      return "This token is not valid: it is unknown, expired or revoked.";
    case "too_many_requests":
      return `Too many failed attempts. Try again in ${wait ?? 60} seconds.`;
    case "forbidden":
      return detail ? `Not allowed: ${detail}.` : "Your token is not allowed to do this.";
  }
  if (status >= 500)
    return `The server failed (${detail ?? `HTTP ${status}`}). Try again; if it persists, tell your administrator.`;
  return detail ? capitalise(detail) : `The request failed (HTTP ${status}).`;
}

function capitalise(s: string): string {
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

export const NETWORK_ERROR = "Cannot reach the server. Check the connection and try again.";

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
  } catch {
    throw new ApiError(0, "network", NETWORK_ERROR);
  }
  if (!res.ok) {
    const problem = await res.json().catch(() => ({}));
    const err = problemToError(res.status, problem, res.headers.get("Retry-After"));
    if (res.status === 401 && token && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

const list = <T>(r: T[] | Record<string, T[]>, key: string): T[] => (Array.isArray(r) ? r : (r[key] ?? []));

export const api = {
  me: () => call<Me>("GET", PATHS.me),
  settings: async (): Promise<{ maxObjectBytes: number; version: string; s3Port: number }> => {
    const r = await fetch("/console/settings.json", { cache: "no-store" });
    return r.json();
  },
  listFolder: (prefix: string, cursor: string | null, limit: number) => {
    const q = new URLSearchParams({ prefix, delimiter: "/", limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    return call<FolderPage>("GET", `${PATHS.objects}?${q}`);
  },
  deleteObject: (id: string | number) => call<void>("DELETE", PATHS.object(id)),
  link: (id: string | number, expiresInSeconds: number) =>
    call<Link>("POST", PATHS.objectLink(id), { expiresInSeconds } satisfies LinkRequest),
  users: async () => list(await call<User[] | Record<string, User[]>>("GET", PATHS.users), "users"),
  createUser: (body: CreateUserRequest) => call<User>("POST", PATHS.users, body),
  deleteUser: (name: string) => call<void>("DELETE", PATHS.user(name)),
  resetUser: (name: string) => call<ResetToken>("POST", PATHS.userReset(name), {}),
  tokens: async (name: string) =>
    list(await call<TokenInfo[] | Record<string, TokenInfo[]>>("GET", PATHS.tokens(name)), "tokens"),
  createToken: (name: string, body: CreateTokenRequest) => call<NewToken>("POST", PATHS.tokens(name), body),
  revokeToken: (name: string, id: string) => call<void>("DELETE", PATHS.token(name, id)),
  /** Key routes of the caller (user undefined) or, for an admin, of the named user. */
  key: (user?: string) => call<KeyInfo>("GET", keyPaths(user).show),
  rotateKey: (user?: string) => call<KeyInfo>("POST", keyPaths(user).rotate, {}),
  rewrap: (user?: string) => call<{ jobId: string }>("POST", keyPaths(user).rewrap, {}),
  setMinVersion: (version: number, user?: string) =>
    call<KeyInfo>("POST", keyPaths(user).minVersion, { version } satisfies MinVersionRequest),
  rootKey: () => call<RootKeyInfo>("GET", PATHS.rootKey),
  rotateRoot: () => call<{ jobId: string }>("POST", PATHS.rootRotate, {}),
  /** Reads and authenticates every object of the caller (or, for an admin, of everyone). */
  verify: (all = false) => call<{ jobId: string }>("POST", all ? PATHS.verifyAll : PATHS.verifySelf, {}),
  job: (id: string) => call<Job>("GET", PATHS.job(id)),
  /** The caller's jobs (an admin's: everyone's), newest first; `next` is the `after` of the next page. */
  jobs: (after?: string, limit = 50) =>
    call<JobList>(
      "GET",
      `${PATHS.jobs}?limit=${limit}${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`,
    ),
};
