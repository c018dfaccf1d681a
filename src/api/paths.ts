// The native API's paths as clients build them (the ssestore CLI, the web console, the tests), and
// the fixed ones the server registers too; every name segment percent-encoded. No import here: the
// console bundles this file.

const seg = encodeURIComponent;

/** An object id as a URL path: each `/`-separated part percent-encoded, the slashes kept. */
export function idPath(id: string | number): string {
  return String(id).split("/").map(encodeURIComponent).join("/");
}

/** The key routes of the caller (no user), or of a named user (admin). */
export function keyPaths(user?: string) {
  const base = user === undefined ? "/keys" : `/users/${seg(user)}/key`;
  return {
    show: base,
    rotate: `${base}/rotate`,
    rewrap: `${base}/rewrap`,
    minVersion: `${base}/min-decryption-version`,
  };
}

export const PATHS = {
  me: "/me",
  /** GET: the caller's ids; POST: a seed item. */
  items: "/data",
  /** GET: the caller's objects with metadata, folded into folders. */
  objects: "/objects",
  object: (id: string | number) => `/data/${idPath(id)}`,
  objectLink: (id: string | number) => `/data/${idPath(id)}/link`,
  users: "/users",
  user: (name: string) => `/users/${seg(name)}`,
  userReset: (name: string) => `/users/${seg(name)}/reset`,
  tokens: (name: string) => `/users/${seg(name)}/tokens`,
  token: (name: string, id: string) => `/users/${seg(name)}/tokens/${seg(id)}`,
  accessKeys: (name: string) => `/users/${seg(name)}/access-keys`,
  accessKey: (name: string, id: string) => `/users/${seg(name)}/access-keys/${seg(id)}`,
  rootKey: "/admin/root-key",
  /** POST (admin): rotate the root key. 202 `{jobId}`. */
  rootRotate: "/admin/root-key/rotate",
  /** POST `{user?}` (admin): verify every object, or one user's. 202 `{jobId}`. */
  verifyAll: "/admin/verify",
  /** POST (any user): verify the caller's own objects. 202 `{jobId}`. */
  verifySelf: "/keys/verify",
  /** GET `?limit&after&user`: the caller's jobs (admins: everyone's), newest first. */
  jobs: "/jobs",
  /** GET: a job's state, progress and result. */
  job: (id: string) => `/jobs/${seg(id)}`,
} as const;
