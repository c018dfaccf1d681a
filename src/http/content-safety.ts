// Headers that keep a browser from treating what a user stored as a page of this origin. An
// object answers with the Content-Type its uploader chose (text/html included), and JSON answers
// echo stored names, ids and types: without these, a browser may run them (or sniff them into
// something runnable) with the origin's cookies and storage.
import type { FastifyReply } from "fastify";

export const CONTENT_SAFETY_HEADERS = {
  // Never guess a type from the bytes.
  "X-Content-Type-Options": "nosniff",
  // Rendered anyway (a navigation to it): no script, no subresource, no same-origin access.
  "Content-Security-Policy": "default-src 'none'; sandbox",
} as const;

export function contentSafetyHeaders(reply: FastifyReply): void {
  reply.headers(CONTENT_SAFETY_HEADERS);
}
