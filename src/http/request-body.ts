// The body of a streamed upload, as the domain reads it. A write that fails partway (disk full,
// database gone, key provider down) leaves the domain's for-await loop early, which by default
// destroys the stream; for a server request Node then detaches it from its socket and the rest of
// the body is never read, so a client that sends its whole body before reading (no `Expect:
// 100-continue`: Python's requests, Node's fetch) waited forever behind an answer already written.
// Left intact, the request's rest is read and dropped by the error handler (refused-body.ts).
import type { IncomingMessage } from "node:http";

export function requestBody(req: IncomingMessage): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) };
}
