// One log line per request, at a level that says who is at fault: 5xx (a server fault) and
// responses cut by a failing body at error, 4xx (the client's mistake) and successes at info, 507
// (a full disk: one known condition that the space monitor reports) at warn.
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import type { LibraryShortcut } from "../settings.js";
import { lazyRequestLogger } from "./lazy-request-logger.js";
import { type PinoDestination, pinoDestination } from "./pino-internals.js";
import { loggablePath } from "./redact-path.js";

/** Where the line of a successful request goes directly (see RequestLog). */
interface DirectLine extends PinoDestination {
  level: number;
}

export class RequestLog extends LogController {
  readonly #direct: DirectLine | null;

  /**
   * With the app's root logger, the "request completed" line of a request that did not fail (the
   * line written most) is serialized here, as pino would write it, and handed to pino's stream:
   * pino's generic path (a child logger, serializers, wildcard redaction) cost ~40 µs a line. Its
   * fields hold nothing redaction would touch: method, path (no query, no link token), route,
   * address, status, time (a test compares the two paths line for line).
   */
  constructor(root?: Logger) {
    super();
    const destination = root ? pinoDestination(root) : null;
    this.#direct = root && destination ? { ...destination, level: root.levels.values.info! } : null;
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (!error && reply.statusCode < 500 && this.#direct) {
      const log = reply.log as unknown as Logger;
      if (log.isLevelEnabled("info")) this.#direct.stream.write(this.#line(request, reply));
      return;
    }
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, "request failed while responding");
    else if (reply.statusCode === 507) reply.log.warn(line, "request completed");
    else if (reply.statusCode >= 500) reply.log.error(line, "request completed");
    else reply.log.info(line, "request completed");
  }

  #line(request: FastifyRequest, reply: FastifyReply): string {
    const d = this.#direct!;
    const route = request.routeOptions.url;
    const req =
      `{"method":${JSON.stringify(request.method)},"path":${JSON.stringify(loggablePath(request))}` +
      `${route === undefined ? "" : `,"route":${JSON.stringify(route)}`}` +
      `${request.ip === undefined ? "" : `,"remoteAddress":${JSON.stringify(request.ip)}`}}`;
    return (
      `{"level":${d.level},"time":${Date.now()}${d.chindings},"reqId":${JSON.stringify(request.id)}` +
      `,"req":${req},"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime}` +
      `,"msg":"request completed"}\n`
    );
  }

  override streamError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
    if (error.code === "ERR_STREAM_PREMATURE_CLOSE")
      reply.log.info({ req: request }, "the client closed the connection before the response ended");
    else
      reply.log.error(
        { req: request, err: error },
        "response cut: its body failed after the headers were sent",
      );
  }
}

/**
 * Fastify's logging options for an app whose logger is `root`: the request log, with the direct
 * line and the lazy per-request logger where SSE_LIBRARY_SHORTCUTS allows them.
 */
export function requestLogging(root: Logger, shortcuts: readonly LibraryShortcut[]) {
  return {
    logController: new RequestLog(shortcuts.includes("request-line") ? root : undefined),
    ...(shortcuts.includes("lazy-logger") ? { childLoggerFactory: lazyRequestLogger } : {}),
  };
}

/** A request whose connection closed early (client gone, or cut at the shutdown deadline): one line, at info. */
export const requestLogPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("onRequestAbort", async (request) => {
    request.log.info({ req: request }, "the connection closed before the request was complete");
  });
});
