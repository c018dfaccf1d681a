// Public probes: /health says the process is alive, /ready that the store and key provider work,
// and whether uploads are accepted (free space above the reserve, disk not full).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Health, Ready } from "../api/system.js";
import { AppError } from "../errors.js";
import type { RootKeyProvider } from "../keys/root-key-provider.js";
import type { SpaceStatus } from "../objects/storage-reserve.js";
import { DatabaseUnreachable, type Stores } from "../store/stores.js";
import { problemResponses } from "./openapi.js";

export interface SystemRoutesOptions {
  stores: Pick<Stores, "ping">;
  root: RootKeyProvider;
  /** The free-space state; absent, writes are always reported possible. */
  space?: SpaceStatus;
  isShuttingDown: () => boolean;
}

export const systemRoutes: FastifyPluginAsyncTypebox<SystemRoutesOptions> = async (app, opts) => {
  app.get(
    "/health",
    {
      config: { public: true },
      schema: { tags: ["system"], summary: "The process is alive", response: { 200: Health } },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/ready",
    {
      config: { public: true },
      schema: {
        tags: ["system"],
        summary: "The store and the key provider are usable; whether uploads are accepted",
        description:
          "200 while the object store, the key store and the key provider answer, 503 otherwise and while shutting down. `writable: false` (still 200) while uploads are refused for lack of space: reads and deletes, which make room, still work.",
        response: { 200: Ready, ...problemResponses(503) },
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
      const space = opts.space ? await opts.space.current() : null;
      checks.space = space?.reason ?? "ok";
      return { status: "ready" as const, writable: space?.writable ?? true, checks };
    },
  );
};
