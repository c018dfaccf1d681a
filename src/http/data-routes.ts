// /data: the seed's item API and binary objects. Routes translate HTTP <-> domain, nothing more.
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { NoContent, WildcardParams } from "../api/fields.js";
import {
  bytesContent,
  CreateItemRequest,
  ID_PAGE_LIMIT,
  IdList,
  IdListQuery,
  Item,
  ObjectInfo,
} from "../api/objects.js";
import { AppError } from "../errors.js";
import { parseContentDigest } from "../objects/content-digest.js";
import { ItemService } from "../objects/item-service.js";
import { idPath, idToJson, validateObjectId } from "../objects/object-id.js";
import type { ObjectService } from "../objects/object-service.js";
import { checkObjectSize } from "../objects/size-limit.js";
import type { WriteCondition } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";
import { principalOf } from "./auth-plugin.js";
import { parseEtagList, sendObject } from "./object-response.js";
import { problemResponses } from "./openapi.js";
import { requestBody } from "./request-body.js";

export interface DataRoutesOptions {
  objects: ObjectService;
}

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

export function objectInfo(meta: ObjectMeta): ObjectInfo {
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

/** The object id of a `/data/*` path, checked. */
function checkedId(params: WildcardParams): string {
  validateObjectId(params["*"]);
  return params["*"];
}

export const dataRoutes: FastifyPluginAsyncTypebox<DataRoutesOptions> = async (app, opts) => {
  const { objects } = opts;
  const items = new ItemService(objects);

  // --- the seed's item API ---------------------------------------------------------------------
  app.register(async (scope) => {
    const itemScope = scope.withTypeProvider<TypeBoxTypeProvider>();
    // The seed accepted any body and answered 422 when it was not {"id"?, "data"}.
    itemScope.removeAllContentTypeParsers();
    itemScope.addContentTypeParser(
      "*",
      { parseAs: "string", bodyLimit: ITEM_BODY_LIMIT },
      (_req, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new AppError("validation_error", "the body is not valid JSON"), undefined);
        }
      },
    );
    itemScope.post(
      "/data",
      {
        config: { auth: { scope: "write" } },
        bodyLimit: ITEM_BODY_LIMIT,
        schema: {
          tags: ["items"],
          summary: "Create an item (the seed's API)",
          description:
            "Stores `data` encrypted. When `id` is missing or already taken, the item gets the next free integer (greatest integer id + 1, or 1).",
          body: CreateItemRequest,
          response: {
            200: Item,
            ...problemResponses(400, 401, 403, 413, 422, 503, 507),
          },
        },
      },
      async (req) => items.create(principalOf(req).user.uid, req.body.id, req.body.data),
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
        querystring: IdListQuery,
        response: {
          200: IdList,
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      // The validator fills in the default (this only restates it for the type checker).
      const { limit = ID_PAGE_LIMIT.default, after, prefix } = req.query;
      const p = principalOf(req);
      const page = await objects.store.listObjects(p.user.uid, {
        limit: limit + 1,
        after,
        prefix: prefix || undefined,
      });
      const more = page.length > limit;
      const ids = page.slice(0, limit).map((m) => m.id);
      if (more) {
        const params = new URLSearchParams({ after: ids[ids.length - 1]!, limit: String(limit) });
        if (prefix) params.set("prefix", prefix);
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
    params: WildcardParams,
    response: {
      200: {
        description: "The object's bytes, or an item as JSON",
        content: { ...bytesContent(), "application/json": { schema: Item } },
      },
      206: {
        description: "Partial content",
        content: bytesContent(),
      },
      304: NoContent("Not modified"),
      ...problemResponses(400, 401, 403, 404, 416, 500),
    },
  };

  const serveObject = async (req: FastifyRequest, reply: FastifyReply, id: string, head: boolean) => {
    const p = principalOf(req);
    const meta = head ? await objects.stat(p.user.uid, id) : await objects.statForRead(p.user.uid, id);
    return sendObject(objects, req, reply, meta, head);
  };

  app.get("/data/*", { config: { auth: { scope: "read" } }, schema: getSchema }, (req, reply) =>
    serveObject(req, reply, checkedId(req.params), false),
  );
  app.head(
    "/data/*",
    {
      config: { auth: { scope: "read" } },
      schema: { ...getSchema, summary: "An object's headers, no body" },
    },
    (req, reply) => serveObject(req, reply, checkedId(req.params), true),
  );

  app.register(async (scope) => {
    const raw = scope.withTypeProvider<TypeBoxTypeProvider>();
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
          params: WildcardParams,
          response: {
            200: ObjectInfo,
            201: ObjectInfo,
            ...problemResponses(400, 401, 403, 412, 413, 500, 503, 507),
          },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const id = checkedId(req.params);
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
        params: WildcardParams,
        response: {
          204: NoContent("Deleted"),
          ...problemResponses(400, 401, 403, 404, 412, 503, 507),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = checkedId(req.params);
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
};
