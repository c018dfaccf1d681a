import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's X-Request-Id when it is safe to log and echo, else makes one. */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && SAFE_ID.test(given)) return given;
  return randomUUID();
}
