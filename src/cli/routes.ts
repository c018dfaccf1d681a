// Routes whose shape is still being settled live here, so adjusting one is a one-line change.
import { seg } from "./client.js";

/** Verify jobs: not yet in API.md; the server's final paths go here. */
export const VERIFY_ROUTES = {
  self: () => ({ path: "/keys/verify", body: undefined as unknown }),
  user: (name: string) => ({ path: "/admin/verify", body: { user: name } as unknown }),
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

export const ROOT_KEY_ROTATE = "/admin/root-key/rotate";
