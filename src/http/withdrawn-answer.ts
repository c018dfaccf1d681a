// An answer withdrawn in an onSend hook (its audit event could not be written) before any of it
// left: the body stream it would have sent is released, and the headers that described it go, so
// the error answer that replaces it names nothing of the object (no ETag, size, range or metadata).
import type { FastifyReply } from "fastify";
import { CONTENT_SAFETY_HEADERS } from "./content-safety.js";

/** What every answer of the listeners carries, set before any route ran: these stay. */
const KEPT = new Set([
  "x-request-id",
  "x-amz-request-id",
  "x-amz-id-2",
  "server",
  "connection",
  ...Object.keys(CONTENT_SAFETY_HEADERS).map((h) => h.toLowerCase()),
]);

export function withdrawAnswer(reply: FastifyReply, payload: unknown): void {
  const body = payload as { destroy?: unknown } | null;
  if (typeof body === "object" && body !== null && typeof body.destroy === "function")
    (body as { destroy(): void }).destroy();
  for (const name of Object.keys(reply.getHeaders()))
    if (!KEPT.has(name.toLowerCase())) reply.removeHeader(name);
}
