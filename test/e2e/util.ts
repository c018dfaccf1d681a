// Shim: the old grab bag, now split by topic under test/helpers/. Kept only for tests written
// against the old path; new tests import test/helpers/ directly (removed once none is left).
export type { Problem as ProblemBody } from "../../src/api/problem.js";
export * from "../helpers/listing.js";
export * from "../helpers/problem.js";
export * from "../helpers/process-control.js";
export * from "../helpers/raw-http.js";
export * from "../helpers/raw-socket.js";
export * from "../helpers/stored-bytes.js";
export * from "../helpers/transfer.js";
export { waitFor } from "../helpers/wait-for.js";
