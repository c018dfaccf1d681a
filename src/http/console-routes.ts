// The web console at /console (and / redirects there): static files from memory under a strict
// Content-Security-Policy. The console talks to the API with the user's bearer token like any client.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { WildcardParams } from "../api/fields.js";
import { AppError } from "../errors.js";
import type { ConsoleAsset } from "./console-assets.js";

export interface ConsoleRoutesOptions {
  /** null when this installation has no console (neither its sources nor a build). */
  assets: Map<string, ConsoleAsset> | null;
  /** Public facts the console needs before sign-in (limits, version). */
  settings: { maxObjectBytes: number; version: string; s3Port: number };
}

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

function securityHeaders(reply: FastifyReply): void {
  reply.header("Content-Security-Policy", CONSOLE_CSP);
  reply.header("X-Content-Type-Options", "nosniff");
  reply.header("Referrer-Policy", "no-referrer");
  reply.header("X-Frame-Options", "DENY");
  reply.header("Cross-Origin-Opener-Policy", "same-origin");
  reply.header("Cross-Origin-Resource-Policy", "same-origin");
}

export const consoleRoutes: FastifyPluginAsyncTypebox<ConsoleRoutesOptions> = async (app, opts) => {
  const hidden = { config: { public: true }, schema: { hide: true } } as const;
  const settings = JSON.stringify(opts.settings);

  app.get("/", hidden, async (_req, reply) => reply.redirect("/console/", 302));
  app.get("/console", hidden, async (_req, reply) => reply.redirect("/console/", 301));
  app.get("/console/settings.json", hidden, async (_req, reply) => {
    securityHeaders(reply);
    reply.header("Cache-Control", "no-cache");
    return reply.type("application/json; charset=utf-8").send(settings);
  });
  app.get("/console/*", { ...hidden, schema: { hide: true, params: WildcardParams } }, async (req, reply) => {
    const name = req.params["*"] || "index.html";
    if (!opts.assets)
      throw new AppError("not_found", "this installation has no web console; see the server log");
    const file = opts.assets.get(name);
    if (!file) throw new AppError("not_found", "no such console file");
    securityHeaders(reply);
    // Small files: always revalidate, answered by 304 while unchanged.
    reply.header("Cache-Control", "no-cache");
    reply.header("ETag", file.etag);
    if (req.headers["if-none-match"] === file.etag) return reply.code(304).send();
    return reply.type(file.type).header("Content-Length", file.body.length).send(file.body);
  });
};
