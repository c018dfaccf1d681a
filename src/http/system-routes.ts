// Public probes: /health says the process is alive, /ready that the store and key provider work.
import type { FastifyInstance } from "fastify";
import { AppError } from "../errors.js";
import type { RootKeyProvider } from "../keys/root-key-provider.js";
import { DatabaseUnreachable, type Stores } from "../store/stores.js";
import { problemResponses } from "./schemas.js";

export interface SystemRoutesOptions {
  stores: Pick<Stores, "ping">;
  root: RootKeyProvider;
  isShuttingDown: () => boolean;
}

const statusSchema = {
  type: "object",
  properties: {
    status: { type: "string" },
    checks: { type: "object", additionalProperties: { type: "string" } },
  },
};

export async function systemRoutes(app: FastifyInstance, opts: SystemRoutesOptions): Promise<void> {
  app.get(
    "/health",
    {
      config: { public: true },
      schema: { tags: ["system"], summary: "The process is alive", response: { 200: statusSchema } },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/ready",
    {
      config: { public: true },
      schema: {
        tags: ["system"],
        summary: "The store and the key provider are usable",
        response: { 200: statusSchema, ...problemResponses(503) },
      },
    },
    async (req) => {
      if (opts.isShuttingDown()) throw new AppError("shutting_down", "the server is shutting down");
      const checks: Record<string, string> = {};
      const probe = async (
        names: string[],
        code: "storage_unavailable" | "key_provider_unavailable",
        fn: () => Promise<void>,
      ) => {
        try {
          await fn();
          for (const name of names) checks[name] = "ok";
        } catch (err) {
          // The stores' ping names the database that did not answer.
          const name = err instanceof DatabaseUnreachable ? err.database : names[0];
          const cause = err instanceof DatabaseUnreachable ? err.cause : err;
          req.log.warn({ err: cause, check: name }, "readiness check failed");
          throw new AppError(code, `${name} is not usable`);
        }
      };
      await probe(["objects", "keys"], "storage_unavailable", () => opts.stores.ping());
      await probe(["keyProvider"], "key_provider_unavailable", () => opts.root.ping());
      return { status: "ready", checks };
    },
  );
}
