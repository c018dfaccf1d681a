// Request headers refused before any route runs, whatever the route: what the server would
// otherwise read differently from a proxy in front of it. Node's parser frames a body by `chunked`
// when it is the last transfer coding and hands over the bytes still coded by the others (`gzip,
// chunked` would be stored as if the gzip bytes were the plaintext); and of a repeated
// Authorization, Host or Content-Type it keeps the first line, where a proxy may act on the last.
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.js";

/** The only transfer coding the server implements. */
const CHUNKED = "chunked";

function checkTransferEncoding(req: FastifyRequest): void {
  const te = req.headers["transfer-encoding"];
  if (te === undefined) return;
  // Node joins repeated Transfer-Encoding lines with ", ": the list is the whole sequence of codings.
  const codings = te
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "");
  if (codings.length === 0) throw new AppError("invalid_header", "Transfer-Encoding names no coding");
  // RFC 9112 §6.3: then the end of the body cannot be known, so the connection cannot be reused.
  // (Node's parser refuses these too, right after this answer: problem.ts sends no second one.)
  if (codings.at(-1) !== CHUNKED || codings.indexOf(CHUNKED) !== codings.length - 1)
    throw new AppError("bad_request", "Transfer-Encoding must end with chunked, named once", {
      Connection: "close",
    });
  if (codings.length !== 1)
    // 400, not RFC 9112's suggested 501: a client's request never causes a 5xx here, so that a
    // 5xx (and the alert on them) always means a fault of the server.
    throw new AppError(
      "unsupported_transfer_encoding",
      `the only transfer coding supported is chunked, not ${codings.slice(0, -1).join(", ")}; send the body uncoded (a compressed file is stored as it is sent)`,
    );
}

/** Headers that must appear once: Node drops every line after the first (RFC 9112 §3.2 for Host). */
const SINGLE = new Set(["authorization", "proxy-authorization", "host", "content-type"]);

function checkSingleHeaders(req: FastifyRequest): void {
  const raw = req.raw.rawHeaders;
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!SINGLE.has(name)) continue;
    if (seen.has(name))
      throw new AppError("invalid_header", `the request has more than one ${raw[i]} header`);
    seen.add(name);
  }
}

/** Runs first on every request (register it before the routes). */
export const headerChecksPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("onRequest", (req, _reply, done) => {
    checkSingleHeaders(req);
    checkTransferEncoding(req);
    done();
  });
});
