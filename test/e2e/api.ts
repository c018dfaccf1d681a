// Shim: the client moved to test/helpers/api-client.ts (tokens to tokens.ts). Kept only for tests
// written against the old path; new tests import test/helpers/ directly.

export type { NewToken as Issued } from "../../src/api/tokens.js";
export * from "../helpers/api-client.js";
export { unknownToken } from "../helpers/tokens.js";
