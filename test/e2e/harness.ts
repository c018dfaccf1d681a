// Shim: the server process moved to test/helpers/server-process.ts. Kept only for tests written
// against the old path; new tests import test/helpers/ directly (removed once none is left).
export * from "../helpers/server-process.js";
export { ADMIN_TOKEN as TEST_TOKEN } from "../helpers/tokens.js";
