// GET /objects: the caller's objects with their metadata, folded into folders by `/` — what a
// file browser (the console, or a script) needs, one page at a time.
import type { FastifyInstance } from "fastify";
import { listFolder } from "../objects/folder-listing.js";
import type { ObjectService } from "../objects/object-service.js";
import { principalOf } from "./auth-plugin.js";
import { objectInfo } from "./data-routes.js";
import { objectInfoSchema, problemResponses } from "./schemas.js";

export interface FolderRoutesOptions {
  objects: ObjectService;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export async function folderRoutes(app: FastifyInstance, opts: FolderRoutesOptions): Promise<void> {
  app.get(
    "/objects",
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["objects"],
        summary: "List objects with metadata, folded into folders",
        description:
          "The caller's objects under `prefix`, in the order of GET /data. With `delimiter=/`, every id that has a further `/` after the prefix is folded into one entry of `folders` (e.g. `docs/2024/`), as S3's ListObjectsV2 does. At most `limit` entries (folders and objects together); `next` is the cursor of the following page, or null.",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            prefix: { type: "string", maxLength: 1024, default: "" },
            delimiter: { type: "string", enum: ["/"] },
            cursor: { type: "string", minLength: 1, maxLength: 2048 },
            limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["prefix", "folders", "objects", "next"],
            properties: {
              prefix: { type: "string" },
              folders: {
                type: "array",
                items: { type: "string" },
                description: "Folder prefixes, each ending in /",
              },
              objects: {
                type: "array",
                items: {
                  ...objectInfoSchema,
                  required: [...objectInfoSchema.required, "kind"],
                  properties: {
                    ...objectInfoSchema.properties,
                    kind: { type: "string", enum: ["blob", "item"], description: "item: made by POST /data" },
                  },
                },
              },
              next: { type: ["string", "null"] },
            },
          },
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      const q = req.query as { prefix: string; delimiter?: "/"; cursor?: string; limit: number };
      const p = principalOf(req);
      const page = await listFolder(opts.objects.store, p.user.uid, q);
      const folders: string[] = [];
      const objects = [];
      for (const e of page.entries) {
        if (e.kind === "folder") folders.push(e.prefix);
        else objects.push({ ...objectInfo(e.meta), kind: e.meta.kind });
      }
      return { prefix: q.prefix, folders, objects, next: page.next };
    },
  );
}
