// One log line per request, at a level that says who is at fault: 5xx (a server fault) and
// responses cut by a failing body at error, 4xx (the client's mistake) and successes at info.
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import fp from "fastify-plugin";

export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, "request failed while responding");
    else if (reply.statusCode >= 500) reply.log.error(line, "request completed");
    else reply.log.info(line, "request completed");
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

/** A request whose connection closed early (client gone, or cut at the shutdown deadline): one line, at info. */
export const requestLogPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("onRequestAbort", async (request) => {
    request.log.info({ req: request }, "the connection closed before the request was complete");
  });
});
