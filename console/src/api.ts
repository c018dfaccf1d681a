// The console's API client: JSON calls with the bearer token (never in a URL), problem+json turned
// into ApiError with a message a person can act on.
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
}

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

export interface Me {
  name: string;
  role: "admin" | "user";
  token: { id: string; scopes: string[]; expiresAt: string | null };
}

export interface ObjectInfo {
  id: string | number;
  size: number;
  etag: string;
  contentType: string;
  created: string;
  modified: string;
  keyVersion: number;
  kind?: "blob" | "item";
}

export interface FolderPage {
  prefix: string;
  folders: string[];
  objects: ObjectInfo[];
  next: string | null;
}

export interface User {
  name: string;
  role: "admin" | "user";
  created?: string;
  /** False while the user is enrolling: only then may an admin issue its credentials. */
  enrolled?: boolean;
}

export interface TokenInfo {
  id: string;
  label?: string | null;
  scopes: string[];
  created?: string;
  lastUsed?: string | null;
  expiresAt?: string | null;
  issuedBy?: string | null;
}

export interface NewToken {
  id: string;
  token: string;
  scopes: string[];
  expiresAt: string | null;
  issuedBy?: string | null;
  /** Only from a reset: how many credentials it revoked. */
  revoked?: number;
}

export interface KeyInfo {
  primaryVersion: number;
  minDecryptionVersion: number;
  versions: { version: number; created?: string; objects?: number; accessKeys?: number }[];
}

export interface Job {
  id: string;
  kind: string;
  state: "running" | "done" | "failed";
  done: number;
  total: number;
  /** verify: bytes read so far, and to read. */
  bytesDone?: number;
  bytesTotal?: number;
  error?: string | null;
  /** verify, rewrap: {damagedCount, …}; root-rotate: {rootVersion, retired}. */
  result?: { damagedCount?: number; rootVersion?: number; retired?: number[] };
  /** Who started it (null once that user is deleted). */
  startedBy?: string | null;
  created?: string;
}

export interface RootKeyInfo {
  provider: string;
  primaryVersion: number;
  versions: number[];
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

/** An id as a URL path: each `/`-separated part percent-encoded (ids are any UTF-8). */
export function idPath(id: string | number): string {
  return String(id).split("/").map(encodeURIComponent).join("/");
}

export function problemToError(status: number, body: unknown, retryAfter?: string | null): ApiError {
  const p = (body && typeof body === "object" ? body : {}) as Problem;
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
const seg = encodeURIComponent;

export const api = {
  me: () => call<Me>("GET", "/me"),
  settings: async (): Promise<{ maxObjectBytes: number; version: string; s3Port: number }> => {
    const r = await fetch("/console/settings.json", { cache: "no-store" });
    return r.json();
  },
  listFolder: (prefix: string, cursor: string | null, limit: number) => {
    const q = new URLSearchParams({ prefix, delimiter: "/", limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    return call<FolderPage>("GET", `/objects?${q}`);
  },
  deleteObject: (id: string | number) => call<void>("DELETE", `/data/${idPath(id)}`),
  link: (id: string | number, expiresInSeconds: number) =>
    call<{ url: string; expiresAt: string }>("POST", `/data/${idPath(id)}/link`, { expiresInSeconds }),
  users: async () => list(await call<User[] | Record<string, User[]>>("GET", "/users"), "users"),
  createUser: (name: string, role: string) => call<User>("POST", "/users", { name, role }),
  deleteUser: (name: string) => call<void>("DELETE", `/users/${seg(name)}`),
  resetUser: (name: string) => call<NewToken>("POST", `/users/${seg(name)}/reset`, {}),
  tokens: async (name: string) =>
    list(
      await call<TokenInfo[] | Record<string, TokenInfo[]>>("GET", `/users/${seg(name)}/tokens`),
      "tokens",
    ),
  createToken: (name: string, body: { label?: string; scopes: string[]; expiresInSeconds?: number }) =>
    call<NewToken>("POST", `/users/${seg(name)}/tokens`, body),
  revokeToken: (name: string, id: string) => call<void>("DELETE", `/users/${seg(name)}/tokens/${seg(id)}`),
  /** Key routes of the caller (user undefined) or, for an admin, of the named user. */
  key: (user?: string) => call<KeyInfo>("GET", user ? `/users/${seg(user)}/key` : "/keys"),
  rotateKey: (user?: string) =>
    call<unknown>("POST", user ? `/users/${seg(user)}/key/rotate` : "/keys/rotate", {}),
  rewrap: (user?: string) =>
    call<{ jobId: string }>("POST", user ? `/users/${seg(user)}/key/rewrap` : "/keys/rewrap", {}),
  setMinVersion: (version: number, user?: string) =>
    call<unknown>(
      "POST",
      user ? `/users/${seg(user)}/key/min-decryption-version` : "/keys/min-decryption-version",
      { version },
    ),
  rootKey: () => call<RootKeyInfo>("GET", "/admin/root-key"),
  rotateRoot: () => call<{ jobId: string }>("POST", "/admin/root-key/rotate", {}),
  /** Reads and authenticates every object of the caller (or, for an admin, of everyone). */
  verify: (all = false) => call<{ jobId: string }>("POST", all ? "/admin/verify" : "/keys/verify", {}),
  job: (id: string) => call<Job>("GET", `/jobs/${seg(id)}`),
  /** The caller's jobs (an admin's: everyone's), newest first; `next` is the `after` of the next page. */
  jobs: (after?: string, limit = 50) =>
    call<{ jobs: Job[]; next: string | null }>(
      "GET",
      `/jobs?limit=${limit}${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`,
    ),
};
