// The error handler's treatment of an unread body when the request stream was already destroyed by
// whoever read it (Node then keeps its socket for the answer but stops reading it): the client
// gets the answer and the connection closes, instead of a client still sending waiting forever.
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { problemPlugin } from "../../src/http/problem.js";
import { rawUpload } from "../helpers/raw-upload.js";

const MiB = 1024 * 1024;
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = Fastify();
  await app.register(problemPlugin);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));
  app.put("/destroying", async (req) => {
    let seen = 0;
    // Leaving the loop early destroys the request stream (the default of a readable's iterator).
    for await (const chunk of req.raw) {
      seen += (chunk as Buffer).length;
      if (seen > MiB) throw new AppError("storage_unavailable", "failed partway");
    }
    return { seen };
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app?.close();
});

it("answers and closes the connection of a request destroyed with its body unread", async () => {
  const r = await rawUpload({
    port,
    path: "/destroying",
    token: "unused",
    size: 64 * MiB,
    timeoutMs: 15_000,
  });
  expect(r.outcome).not.toBe("hung");
  // The answer went out before the close (the client may lose it to the reset while it sends).
  if (r.status !== null) expect(r.status).toBe(503);
  expect(r.sent).toBeLessThan(64 * MiB);
});
