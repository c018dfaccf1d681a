// The one error handler: every failure becomes RFC 9457 problem+json with a stable code and the
// request id. Nothing internal (stack, SQL, key material, paths) ever reaches the client.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AppError, DiskFullError, ERROR_CATALOGUE, type ErrorCode, isNoSpaceErrno } from "../errors.js";
import { loggablePath } from "./redact-path.js";
import { drainRefusedBody } from "./refused-body.js";

export const PROBLEM_TYPE_BASE = "https://sse-store.dev/problems/";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ErrorCode;
  requestId: string;
}

/** Maps Fastify's own errors (parsing, validation, limits) onto the catalogue. */
function fromFastify(err: FastifyError): AppError | null {
  if (err.validation) {
    const ctx = err.validationContext;
    const first = err.validation[0];
    const where = first?.instancePath
      ? `${ctx ?? "body"}${first.instancePath.replaceAll("/", ".")}`
      : (ctx ?? "body");
    const msg = first?.message ?? "is invalid";
    // Query strings and headers are client mistakes of form (400); bodies are unprocessable (422).
    return new AppError(ctx === "body" ? "validation_error" : "bad_request", `${where} ${msg}`);
  }
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("payload_too_large", "the request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("unsupported_media_type", "unsupported Content-Type");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("validation_error", "the body must be a JSON object");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new AppError("validation_error", "the body is not valid JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("length_mismatch", "Content-Length does not match the body");
    case "FST_ERR_CTP_INVALID_TYPE":
      return new AppError("invalid_header", "invalid Content-Type");
    case "ECONNRESET":
    case "ERR_STREAM_PREMATURE_CLOSE":
      return new AppError("incomplete_body", "the request body ended early");
  }
  if (err instanceof SyntaxError) return new AppError("validation_error", "the body is not valid JSON");
  if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500)
    return new AppError("bad_request", "the request is malformed");
  return null;
}

export function toProblem(err: AppError, requestId: string): Problem {
  const entry = ERROR_CATALOGUE[err.code];
  return {
    type: PROBLEM_TYPE_BASE + err.code,
    title: entry.title,
    status: entry.status,
    detail: err.detail,
    code: err.code,
    requestId,
  };
}

/**
 * Makes `err`'s problem document this reply's answer: sets the status and headers, returns the body.
 * An onSend hook that replaces an answer returns it (a throw there, on an answer that is already an
 * error, would reach Fastify's fallback handler instead of ours).
 */
export function problemAnswer(reply: FastifyReply, err: AppError): string {
  if (err.headers) reply.headers(err.headers);
  // Also on answers that never reached the routing hooks (framework errors).
  reply.header("X-Request-Id", String(reply.request.id));
  reply.code(err.status).type("application/problem+json");
  return JSON.stringify(toProblem(err, String(reply.request.id)));
}

export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  return reply.send(problemAnswer(reply, err));
}

export const problemPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    let appErr: AppError;
    if (error instanceof AppError) appErr = error;
    else if (isNoSpaceErrno(error)) appErr = new DiskFullError(error);
    else
      appErr =
        fromFastify(error) ??
        new AppError("internal_error", "an unexpected error occurred; see the server log");
    // A full disk is one known condition, reported once by the space monitor, not a fault per request.
    if (appErr.code === "insufficient_storage")
      request.log.warn({ code: appErr.code, detail: appErr.detail }, "request refused");
    else if (appErr.status >= 500) request.log.error({ err: error, code: appErr.code }, "request failed");
    else request.log.info({ code: appErr.code, detail: appErr.detail }, "request refused");
    if (reply.sent || reply.raw.headersSent) {
      // Too late for a problem document: cut the connection so the client sees an incomplete response.
      reply.raw.destroy();
      return;
    }
    drainRefusedBody(request, reply);
    return sendProblem(reply, appErr);
  });
  app.setNotFoundHandler((request, reply) => {
    drainRefusedBody(request, reply);
    return sendProblem(
      reply,
      new AppError("not_found", `no route ${request.method} ${loggablePath(request)}`),
    );
  });
});

/** Fastify's own routing failures (a malformed percent-encoding, …) as problem+json. */
export function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const appErr =
    error.code === "FST_ERR_BAD_URL"
      ? new AppError("bad_request", "the URL is malformed (bad percent-encoding)")
      : (fromFastify(error) ?? new AppError("bad_request", "the request is malformed"));
  drainRefusedBody(req, reply);
  sendProblem(reply, appErr);
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them: answer problem+json on the raw
 * socket, then close it.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // The parser may fail right after it handed the request over (a Transfer-Encoding it refuses,
  // found once the headers were read), when a hook has already answered: a second answer would be
  // read as the reply to the client's next request. Close once the first one is out.
  const answering = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (answering?.headersSent) {
    if (answering.writableFinished) socket.end();
    else answering.once("finish", () => socket.end());
    return;
  }
  let appErr: AppError;
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      appErr = new AppError("headers_too_large", "the request headers are too large");
      break;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      appErr = new AppError("request_timeout", "the request took too long to arrive");
      break;
    default:
      appErr = new AppError("bad_request", "the request could not be parsed as HTTP/1.1");
  }
  const body = JSON.stringify(toProblem(appErr, randomUUID()));
  const requestId = JSON.parse(body).requestId as string;
  socket.end(
    `HTTP/1.1 ${appErr.status} ${ERROR_CATALOGUE[appErr.code].title}\r\n` +
      "Content-Type: application/problem+json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
