// Routes whose shape is still being settled live here, so adjusting one is a one-line change.
import { JOB_PATHS } from "../http/job-paths.js";
import { seg } from "./client.js";

/** Verify jobs (the server's paths are in src/http/job-paths.ts). */
export const VERIFY_ROUTES = {
  self: () => ({ path: JOB_PATHS.verifySelf, body: undefined as unknown }),
  user: (name: string) => ({ path: JOB_PATHS.verifyAll, body: { user: name } as unknown }),
  all: () => ({ path: JOB_PATHS.verifyAll, body: {} as unknown }),
};

/** The key routes of the caller, or of a named user (admin). */
export function keyRoutes(user: string | undefined) {
  const base = user === undefined ? "/keys" : `/users/${seg(user)}/key`;
  return {
    show: base,
    rotate: `${base}/rotate`,
    rewrap: `${base}/rewrap`,
    minVersion: `${base}/min-decryption-version`,
  };
}

export const ROOT_KEY_ROTATE = JOB_PATHS.rootRotate;
