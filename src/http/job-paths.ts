// The paths clients (the ssestore CLI, the console) use to start and follow jobs, in one place.
export const JOB_PATHS = {
  /** POST `{user?}` (admin): verify every object, or one user's. 202 `{jobId}`. */
  verifyAll: "/admin/verify",
  /** POST (any user): verify the caller's own objects. 202 `{jobId}`. */
  verifySelf: "/keys/verify",
  /** POST (admin): rotate the root key. 202 `{jobId}`. */
  rootRotate: "/admin/root-key/rotate",
  /** GET `?limit&after&user`: the caller's jobs (admins: everyone's), newest first. */
  list: "/jobs",
  /** GET: a job's state, progress and result. */
  job: (id: string) => `/jobs/${encodeURIComponent(id)}`,
} as const;
