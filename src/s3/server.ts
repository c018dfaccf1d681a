// The S3 listener (SSE_S3_PORT): a Fastify instance of its own, beside the native API. Every request
// is verified (SigV4), then routed by method, bucket, key and query (router.ts) to an operation that
// calls the same domain services as the native API. Errors are S3's XML documents.
import { randomBytes } from "node:crypto";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import { clientErrorHandler } from "../http/problem.js";
import { trackQuietConnections } from "../http/quiet-connections.js";
import { drainRefusedBody } from "../http/refused-body.js";
import { requestLogging, requestLogPlugin } from "../http/request-log.js";
import { LIBRARY_SHORTCUTS, type LibraryShortcut } from "../settings.js";
import { hostBucket, resolveAddress } from "./addressing.js";
import { decodePath } from "./canonical.js";
import type { S3Caller, S3Context, S3Key } from "./context.js";
import { toS3Error } from "./error-map.js";
import { S3Error } from "./errors.js";
import { HeaderIndex } from "./headers.js";
import { route, type S3Operations } from "./router.js";
import { SigningKeyCache } from "./signing-key.js";
import { verifyRequest } from "./sigv4.js";
import { errorXml } from "./xml-write.js";

export interface S3ServerOptions {
  /** SSE_S3_DOMAIN: virtual-hosted style under it. */
  domain?: string;
  /** SSE_S3_REGION: the region this server answers with. */
  region: string;
  trustProxy: boolean;
  /** SSE_LIBRARY_SHORTCUTS (default: all). */
  libraryShortcuts?: readonly LibraryShortcut[];
}

export interface S3ServerDeps {
  logger: Logger;
  ops: S3Operations;
  /** An access key's secret and owner, or null when there is no such live key. */
  lookupKey(accessKeyId: string): Promise<S3Key | null>;
  /** Called once a request's signature verified (enrollment, lastUsed). */
  onAuthenticated?(caller: S3Caller): Promise<void>;
  limiter: FailureLimiter;
  isDraining(): boolean;
  onAuthFailure?(reason: string): void;
  /** A signature refused ("invalid") or refused for too many failures ("throttled"): the audit log. */
  onRefused?(req: FastifyRequest, reason: "invalid" | "throttled"): Promise<void>;
  /** Runs before every answer leaves (onSend): the audit log's outcomes; a throw replaces the answer. */
  beforeSend?(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

export interface S3Server {
  app: FastifyInstance;
  closeQuietConnections(): void;
}

/** AWS request ids are 16 upper-case hex characters; x-amz-id-2 is an opaque base64 string. */
function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

const SIGNATURE_FAILURES = new Set(["SignatureDoesNotMatch", "InvalidAccessKeyId"]);

export async function buildS3App(opts: S3ServerOptions, deps: S3ServerDeps): Promise<S3Server> {
  const keyCache = new SigningKeyCache();
  const logger = deps.logger.child({ api: "s3" });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, as on the native API (request-log.ts): method, path without its query
    // (a presigned URL's signature never reaches the log), status, time.
    ...requestLogging(logger, opts.libraryShortcuts ?? LIBRARY_SHORTCUTS),
    genReqId: newRequestId,
    routerOptions: { maxParamLength: 8192, ignoreDuplicateSlashes: false, ignoreTrailingSlash: false },
    exposeHeadRoutes: false,
    trustProxy: opts.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    return503OnClosing: false,
    connectionTimeout: 120_000,
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    clientErrorHandler,
  });
  const connections = trackQuietConnections(app.server);
  await app.register(requestLogPlugin);

  app.addHook("onRequest", (req, reply, done) => {
    reply.header("x-amz-request-id", req.id);
    reply.header("x-amz-id-2", Buffer.from(req.id).toString("base64"));
    reply.header("Server", "SSEStore");
    if (deps.isDraining()) {
      reply.header("Connection", "close");
      done(new S3Error("ServiceUnavailable", "The server is shutting down."));
      return;
    }
    done();
  });

  const { beforeSend } = deps;
  // A throw from beforeSend replaces the answer with its S3 error here: thrown on to Fastify, it
  // would reach Fastify's fallback handler (JSON, not S3's XML) whenever the answer was an error already.
  if (beforeSend)
    app.addHook("onSend", async (req, reply, payload) => {
      try {
        return await beforeSend(req, reply, payload);
      } catch (err) {
        return errorAnswer(req, reply, err, deps.logger);
      }
    });

  // Bodies are never parsed by Fastify: each operation reads (and verifies) its own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err, deps.logger));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new S3Error("MethodNotAllowed"), deps.logger));

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.raw.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? "" : url.slice(q + 1);
    const headers = new HeaderIndex(req.raw.rawHeaders);
    if (!headers.has("authorization") && !/(?:^|&)(?:X-Amz-)?Signature=/i.test(rawQuery))
      throw new S3Error("AccessDenied", "Anonymous requests are not accepted: sign with an access key.");
    const retry = deps.limiter.retryAfter(req.ip);
    let verified: Awaited<ReturnType<typeof verifyRequest<S3Key>>>;
    try {
      verified = await verifyRequest<S3Key>(
        {
          method: req.method,
          rawPath,
          rawQuery,
          headers,
          virtualBucket: hostBucket(headers.get("host"), opts.domain),
        },
        { lookup: (id) => deps.lookupKey(id), keyCache },
      );
    } catch (err) {
      if (err instanceof S3Error && SIGNATURE_FAILURES.has(err.code)) {
        deps.onAuthFailure?.(err.code);
        await deps.onRefused?.(req, retry > 0 ? "throttled" : "invalid");
        if (retry > 0) throw new S3Error("SlowDown", undefined, {}, { "Retry-After": String(retry) });
        deps.limiter.fail(req.ip);
      }
      throw err;
    }
    const caller = verified.key.caller;
    await deps.onAuthenticated?.(caller);
    const address = resolveAddress(decodePath(rawPath), headers.get("host"), opts.domain);
    const query = new Map<string, string>();
    for (const p of verified.query) if (!query.has(p.name)) query.set(p.name, p.value);
    const ctx: S3Context = {
      req,
      reply,
      requestId: req.id,
      method: req.method,
      address,
      query,
      headers: verified.headers,
      verified,
      caller,
      owner: caller.user.uid,
      audit: {},
    };
    return route(ctx, deps.ops);
  };
  app.all("/", handle);
  app.all("/*", handle);

  return { app, closeQuietConnections: () => connections.closeQuiet() };
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  return reply.send(errorAnswer(req, reply, err, logger));
}

/** Makes `err` this reply's S3 error answer: sets the status and headers, returns the body. */
function errorAnswer(req: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): string {
  let s3 = toS3Error(err) ?? fromFramework(err);
  if (!s3) {
    logger.error({ err, requestId: req.id, method: req.method }, "S3 request failed");
    s3 = new S3Error("InternalError");
  } else if (s3.status >= 500) {
    logger.warn({ err, requestId: req.id, code: s3.code }, "S3 request failed");
  }
  drainRefusedBody(req, reply);
  reply.code(s3.status);
  for (const [k, v] of Object.entries(s3.headers)) reply.header(k, v);
  if (s3.status === 304 || req.method === "HEAD") return "";
  const path = (req.raw.url ?? "/").split("?")[0] ?? "/";
  reply.header("Content-Type", "application/xml");
  return errorXml({
    code: s3.code,
    message: s3.message,
    resource: path,
    requestId: req.id,
    fields: s3.fields,
  });
}

/** Fastify's own refusals (a malformed request it parsed) as S3 errors. */
function fromFramework(err: unknown): S3Error | null {
  const e = err as { statusCode?: number; code?: string };
  if (e.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") return new S3Error("IncompleteBody");
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
    return new S3Error("InvalidRequest", "The request is malformed.");
  return null;
}
