// Graceful shutdown, HTTP side: once draining, new requests get 503 shutting_down, and every
// response closes its connection, so that no kept-alive socket holds the server open.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.js";

export interface DrainingOptions {
  isDraining(): boolean;
}

export const drainingPlugin = fp(async (app: FastifyInstance, opts: DrainingOptions) => {
  app.addHook("onRequest", async (_req, reply) => {
    if (!opts.isDraining()) return;
    reply.header("Connection", "close");
    throw new AppError(
      "shutting_down",
      "the server is shutting down; retry shortly (another instance may serve you)",
    );
  });
  // Requests in flight when draining began finish normally, but on a connection that then closes.
  app.addHook("onSend", async (_req, reply) => {
    if (opts.isDraining()) reply.header("Connection", "close");
  });
  // A response whose headers left before draining began keeps its connection alive: close it once idle.
  app.addHook("onResponse", async () => {
    if (opts.isDraining()) setImmediate(() => app.server.closeIdleConnections());
  });
});
