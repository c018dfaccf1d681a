// Bearer tokens of the tests: the one bootstrap admin token every test server starts with, and
// tokens the server never issued.
import { randomBytes } from "node:crypto";

/** SSE_BOOTSTRAP_TOKEN of the servers the tests start (server-process.ts) and build (app.ts). */
export const ADMIN_TOKEN = "sse_test_bootstrap_token_0123456789abcdefghijklmnopqrstuvwxyz";

/** A token in the issued format that the server never issued. */
export function unknownToken(): string {
  return `sse_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;
}
