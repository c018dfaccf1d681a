// The item baseline: a plain Fastify server with the seed's item routes and JSON shapes, items in a
// Map, no auth, no encryption, no persistence. Run as a script it listens; imported, it launches
// itself as a separate process so the load generator never shares its event loop.
import path from "node:path";
import { pathToFileURL } from "node:url";
import Fastify from "fastify";
import { ROOT } from "../test/helpers/server-process.js";
import { type SpawnedServer, spawnUntilHealthy } from "./spawned-server.js";

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

export type BaselineServer = SpawnedServer;

interface Item {
  id: number;
  data: string;
}

export function buildBaseline() {
  const app = Fastify({ logger: false });
  const items = new Map<number, Item>();
  let maxId = 0;

  app.get("/health", async () => ({ status: "ok" }));

  app.post(
    "/data",
    {
      schema: {
        body: {
          type: "object",
          required: ["data"],
          properties: { id: { type: "integer" }, data: { type: "string" } },
        },
      },
    },
    async (req, reply) => {
      const body = req.body as { id?: number; data: string };
      if (body.data.length === 0) return reply.code(400).send({ detail: "data must not be empty" });
      // Same rule as the seed: the requested id when free, otherwise greatest integer id + 1.
      const id = body.id !== undefined && !items.has(body.id) ? body.id : maxId + 1;
      const item = { id, data: body.data };
      items.set(id, item);
      if (id > maxId) maxId = id;
      return item;
    },
  );

  app.get("/data", async () => [...items.keys()].sort((a, b) => a - b).slice(0, 1000));

  app.get("/data/:id", async (req, reply) => {
    const item = items.get(Number((req.params as { id: string }).id));
    if (!item) return reply.code(404).send({ detail: "not found" });
    return item;
  });

  return app;
}

/** Spawns this file as its own process on a free port and waits until it answers. */
export function startBaseline(): Promise<BaselineServer> {
  return spawnUntilHealthy("baseline server", (port) => ({
    file: TSX,
    args: [import.meta.filename],
    env: { ...process.env, BENCH_BASELINE_PORT: String(port) },
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const app = buildBaseline();
  const port = Number(process.env.BENCH_BASELINE_PORT ?? 8001);
  await app.listen({ host: "127.0.0.1", port });
  const stop = () => {
    app.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
