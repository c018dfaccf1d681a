// GET /objects: the caller's objects with their metadata, folded into folders by `/` — what a
// file browser (the console, or a script) needs, one page at a time.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { FOLDER_PAGE_LIMIT, FolderPage, FolderQuery, type ListedObject } from "../api/objects.js";
import { listFolder } from "../objects/folder-listing.js";
import type { ObjectService } from "../objects/object-service.js";
import { principalOf } from "./auth-plugin.js";
import { objectInfo } from "./data-routes.js";
import { problemResponses } from "./openapi.js";

export interface FolderRoutesOptions {
  objects: ObjectService;
}

export const folderRoutes: FastifyPluginAsyncTypebox<FolderRoutesOptions> = async (app, opts) => {
  app.get(
    "/objects",
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["objects"],
        summary: "List objects with metadata, folded into folders",
        description:
          "The caller's objects under `prefix`, in the order of GET /data. With `delimiter=/`, every id that has a further `/` after the prefix is folded into one entry of `folders` (e.g. `docs/2024/`), as S3's ListObjectsV2 does. At most `limit` entries (folders and objects together); `next` is the cursor of the following page, or null.",
        querystring: FolderQuery,
        response: {
          200: FolderPage,
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (req) => {
      // The validator fills in the defaults (these only restate them for the type checker).
      const { prefix = "", delimiter, cursor, limit = FOLDER_PAGE_LIMIT.default } = req.query;
      const p = principalOf(req);
      const page = await listFolder(opts.objects.store, p.user.uid, { prefix, delimiter, cursor, limit });
      const folders: string[] = [];
      const objects: ListedObject[] = [];
      for (const e of page.entries) {
        if (e.kind === "folder") folders.push(e.prefix);
        else objects.push({ ...objectInfo(e.meta), kind: e.meta.kind });
      }
      return { prefix, folders, objects, next: page.next };
    },
  );
};
