// Graceful shutdown, HTTP side: once draining, new requests get 503 shutting_down, and every
// response closes its connection, so that no kept-alive socket holds the server open.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.js";

export interface DrainingOptions {
  isDraining(): boolean;
}

export const drainingPlugin = fp(async (app: FastifyInstance, opts: DrainingOptions) => {
  // Callback-style hooks: they run on every request and almost always do nothing.
  app.addHook("onRequest", (_req, reply, done) => {
    if (!opts.isDraining()) return done();
    reply.header("Connection", "close");
    done(
      new AppError(
        "shutting_down",
        "the server is shutting down; retry shortly (another instance may serve you)",
      ),
    );
  });
  // Requests in flight when draining began finish normally, but on a connection that then closes.
  app.addHook("onSend", (_req, reply, payload, done) => {
    if (opts.isDraining()) reply.header("Connection", "close");
    done(null, payload);
  });
  // A response whose headers left before draining began keeps its connection alive: close it once idle.
  app.addHook("onResponse", (_req, _reply, done) => {
    if (opts.isDraining()) setImmediate(() => app.server.closeIdleConnections());
    done();
  });
});
