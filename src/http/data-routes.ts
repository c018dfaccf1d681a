// /data: the seed's item API and binary objects. Routes translate HTTP <-> domain, nothing more.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import { parseContentDigest } from "../objects/content-digest.js";
import { createItem } from "../objects/items.js";
import { idPath, idToJson, validateObjectId } from "../objects/object-id.js";
import type { ObjectService } from "../objects/object-service.js";
import { checkObjectSize } from "../objects/size-limit.js";
import type { WriteCondition } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { parseEtagList, sendObject } from "./object-response.js";
import { requestBody } from "./request-body.js";
import { objectInfoSchema, problemResponses } from "./schemas.js";

export interface DataRoutesOptions {
  objects: ObjectService;
}

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10000;
const ITEM_BODY_LIMIT = 1024 * 1024;

function writeCondition(req: FastifyRequest): WriteCondition {
  const inm = req.headers["if-none-match"];
  const im = req.headers["if-match"];
  const cond: WriteCondition = {};
  if (inm !== undefined) {
    if (inm.trim() !== "*")
      throw new AppError("invalid_header", "only If-None-Match: * is supported on writes");
    cond.ifNoneMatch = true;
  }
  if (im !== undefined) cond.ifMatch = parseEtagList(im, false);
  return cond;
}

export function objectInfo(meta: ObjectMeta) {
  return {
    id: idToJson(meta.id),
    size: meta.size,
    etag: meta.etag,
    contentType: meta.contentType,
    created: meta.created.toISOString(),
    modified: meta.modified.toISOString(),
    keyVersion: meta.kekVersion,
  };
}

function idParam(req: FastifyRequest): string {
  const id = (req.params as { "*": string })["*"];
  validateObjectId(id);
  return id;
}

export async function dataRoutes(app: FastifyInstance, opts: DataRoutesOptions): Promise<void> {
  const { objects } = opts;

  // --- the seed's item API ---------------------------------------------------------------------
  app.register(async (items) => {
    // The seed accepted any body and answered 422 when it was not {"id"?, "data"}.
    items.removeAllContentTypeParsers();
    items.addContentTypeParser("*", { parseAs: "string", bodyLimit: ITEM_BODY_LIMIT }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new AppError("validation_error", "the body is not valid JSON"), undefined);
      }
    });
    items.post(
      "/data",
      {
        config: { auth: { scope: "write" } },
        bodyLimit: ITEM_BODY_LIMIT,
        schema: {
          tags: ["items"],
          summary: "Create an item (the seed's API)",
          description:
            "Stores `data` encrypted. When `id` is missing or already taken, the item gets the next free integer (greatest integer id + 1, or 1).",
          body: {
            type: "object",
            required: ["data"],
            properties: {
              id: { type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
              data: { type: "string" },
            },
          },
          response: {
            200: {
              type: "object",
              required: ["id", "data"],
              properties: { id: { type: "integer" }, data: { type: "string" } },
            },
            ...problemResponses(400, 401, 403, 413, 422, 503, 507),
          },
        },
      },
      async (req) => {
        const body = req.body as { id?: number; data: string };
        const p = principalOf(req);
        return createItem(objects, p.user.uid, body.id, body.data);
      },
    );
  });

  app.get(
    "/data",
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["items"],
        summary: "List the caller's ids, ascending",
        description:
          'Integer ids first (numerically, as JSON numbers), then other ids bytewise (as strings). A `Link: <…>; rel="next"` header is present when more remain.',
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
            after: { type: "string", minLength: 1, maxLength: 1024 },
            prefix: { type: "string", maxLength: 1024 },
          },
        },
        response: {
          200: { type: "array", items: { anyOf: [{ type: "integer" }, { type: "string" }] } },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { limit: number; after?: string; prefix?: string };
      const p = principalOf(req);
      const page = await objects.store.listObjects(p.user.uid, {
        limit: q.limit + 1,
        after: q.after,
        prefix: q.prefix || undefined,
      });
      const more = page.length > q.limit;
      const ids = page.slice(0, q.limit).map((m) => m.id);
      if (more) {
        const params = new URLSearchParams({ after: ids[ids.length - 1]!, limit: String(q.limit) });
        if (q.prefix) params.set("prefix", q.prefix);
        reply.header("Link", `</data?${params.toString()}>; rel="next"`);
      }
      return ids.map(idToJson);
    },
  );

  // --- binary objects ----------------------------------------------------------------------------
  const getSchema = {
    tags: ["objects"],
    summary: "Read an object (or an item)",
    description:
      "An item answers `{id, data}` as JSON. An object answers its plaintext with its Content-Type, a keyed strong ETag and `Accept-Ranges: bytes`; `Range: bytes=a-b | a- | -n` → 206 decrypting only the covering segments; unsatisfiable → 416; `If-None-Match` → 304. Every answer carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy: default-src 'none'; sandbox`, so a stored text/html never runs as a page of this origin.",
    params: { type: "object", properties: { "*": { type: "string" } } },
    response: {
      200: {
        description: "The object's bytes, or an item as JSON",
        content: {
          "application/octet-stream": { schema: { type: "string", format: "binary" } },
          "application/json": {
            schema: { type: "object", properties: { id: { type: "integer" }, data: { type: "string" } } },
          },
        },
      },
      206: {
        description: "Partial content",
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      },
      304: { description: "Not modified", type: "null" },
      ...problemResponses(400, 401, 403, 404, 416, 500),
    },
  };

  const serveObject = async (req: FastifyRequest, reply: FastifyReply, head: boolean) => {
    const p = principalOf(req);
    const id = idParam(req);
    const meta = head ? await objects.stat(p.user.uid, id) : await objects.statForRead(p.user.uid, id);
    return sendObject(objects, req, reply, meta, head);
  };

  app.get("/data/*", { config: { auth: { scope: "read" } }, schema: getSchema }, (req, reply) =>
    serveObject(req, reply, false),
  );
  app.head(
    "/data/*",
    {
      config: { auth: { scope: "read" } },
      schema: { ...getSchema, summary: "An object's headers, no body" },
    },
    (req, reply) => serveObject(req, reply, true),
  );

  app.register(async (raw) => {
    // The body is the object: it streams to encrypted storage unparsed, whatever its type.
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser("*", (_req, _payload, done) => done(null));
    raw.put(
      "/data/*",
      {
        config: { auth: { scope: "write" } },
        schema: {
          tags: ["objects"],
          summary: "Create or replace an object (streamed)",
          description:
            "Streams the body to encrypted storage; 201 on create, 200 on replace. `If-None-Match: *` → 412 if it exists; `If-Match` → 412 on mismatch; `Content-Digest: sha-256=:…:` is checked (mismatch → 400, nothing stored); larger than SSE_MAX_OBJECT_BYTES → 413; a Transfer-Encoding other than chunked → 400 `unsupported_transfer_encoding`, nothing stored. Atomic: readers see the old or the new object.",
          params: { type: "object", properties: { "*": { type: "string" } } },
          response: {
            200: objectInfoSchema,
            201: objectInfoSchema,
            ...problemResponses(400, 401, 403, 412, 413, 500, 503, 507),
          },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const id = idParam(req);
        const cond = writeCondition(req);
        const digest = parseContentDigest(req.headers["content-digest"] as string | undefined);
        const cl = req.headers["content-length"];
        const contentLength = cl === undefined ? undefined : Number(cl);
        if (contentLength !== undefined) checkObjectSize(contentLength, objects.maxObjectBytes);
        await objects.precheck(p.user.uid, id, cond);
        const { meta, created } = await objects.put({
          owner: p.user.uid,
          id,
          body: requestBody(req.raw),
          contentType: req.headers["content-type"] || "application/octet-stream",
          contentLength,
          digest,
          cond,
        });
        reply.code(created ? 201 : 200);
        reply.header("ETag", meta.etag);
        if (created) reply.header("Location", `/data/${idPath(id)}`);
        return objectInfo(meta);
      },
    );
  });

  app.delete(
    "/data/*",
    {
      config: { auth: { scope: "write" } },
      schema: {
        tags: ["objects"],
        summary: "Delete an object or item",
        params: { type: "object", properties: { "*": { type: "string" } } },
        response: {
          204: { description: "Deleted", type: "null" },
          ...problemResponses(400, 401, 403, 404, 412, 503, 507),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = idParam(req);
      const im = parseEtagList(req.headers["if-match"], false);
      await objects.delete(p.user.uid, id, im ? { ifMatch: im } : undefined);
      return reply.code(204).send();
    },
  );

  // Methods the resource does not support: 405 with Allow, never 404.
  for (const [url, allow] of [
    ["/data", "GET, POST"],
    ["/data/*", "GET, HEAD, PUT, DELETE"],
  ] as const) {
    // POST /data/* belongs to download links (link-routes.ts), which answer 405 for other ids.
    app.route({
      method: ["PATCH", "OPTIONS", ...(url === "/data" ? (["PUT", "DELETE"] as const) : [])],
      url,
      config: { public: true },
      schema: { hide: true },
      handler: async (_req, reply) => {
        reply.header("Allow", allow);
        throw new AppError("method_not_allowed", `allowed: ${allow}`);
      },
    });
  }
}
