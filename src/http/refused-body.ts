// What happens to the unread body of a request refused before it was read (413 from
// Content-Length, 401, 404, …) or whose write failed partway (disk full, database gone). Closing
// the connection at once, as Fastify does for a body over its limit, races the client: one still
// sending gets its connection cut (EPIPE, ECONNRESET) and often never reads the answer. Reading
// the body to its end, as Node does by default for every other refusal, lets a client declare
// gigabytes and have the server read them all for nothing. So: the server reads and drops up to
// DRAIN_LIMIT_BYTES more of such a body, which lets any ordinary client finish sending and read its
// answer on a connection that stays usable, and cuts the connection once the answer is out and
// more than that has arrived.
import type { FastifyReply, FastifyRequest } from "fastify";

export const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

/** Called for an error answer: bounds how much of the unread body is read and dropped. */
export function drainRefusedBody(
  request: FastifyRequest,
  reply: FastifyReply,
  limit = DRAIN_LIMIT_BYTES,
): void {
  const req = request.raw;
  if (req.complete) return;
  const res = reply.raw;
  // Taken now: a destroyed request has let go of its socket, and a finished response lets go of it too.
  const socket = req.socket ?? res.socket;
  const cutAfterAnswer = () => {
    if (!socket || socket.destroyed) return;
    if (res.writableFinished) socket.destroy();
    else res.once("finish", () => socket.destroy());
  };
  if (req.destroyed) {
    // Destroyed by whoever was reading it, its socket kept for the answer (Node detaches a destroyed
    // server request): nothing reads the rest any more, so the connection ends with the answer
    // rather than leave a client that is still sending waiting for it.
    if (!res.headersSent) reply.header("connection", "close");
    cutAfterAnswer();
    return;
  }
  // Fastify asks for Connection: close when a declared length is over its body limit; the drain
  // below makes that unnecessary and keeps the answer readable. (Shutdown adds it back later.)
  if (String(reply.getHeader("connection") ?? "").toLowerCase() === "close") reply.removeHeader("connection");
  let drained = 0;
  const count = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limit) {
      req.removeListener("data", count);
      cutAfterAnswer();
    }
  };
  req.on("data", count);
  // A body left paused by a reader that gave up on it (an upload whose write failed) flows again.
  req.resume();
}
