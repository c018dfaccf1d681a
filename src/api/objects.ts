// /data and /objects: the seed's items, binary objects' metadata, listings and download links.
import { type Static, Type } from "typebox";
import { DateTime, Nullable, StringEnum } from "./fields.js";

/** An object id in a path (the router sees `/data/*`; the document names it). */
export const ObjectIdParam = Type.String({
  description:
    "Object id: 1-1024 bytes of UTF-8, as S3 keys are (spaces, accents, ()+%#?, // and a trailing / included), percent-encoded in the URL; never a control character U+0000-U+001F",
});

/** An object's bytes, as a body or an answer (a stream, never JSON). */
export const Bytes = Type.Unsafe<Uint8Array>({ type: "string", format: "binary" });

/** Content of an answer or body of raw bytes: the object's, not JSON. */
export const bytesContent = (...mediaTypes: string[]) =>
  Object.fromEntries(
    (mediaTypes.length ? mediaTypes : ["application/octet-stream"]).map((t) => [t, { schema: Bytes }]),
  );

/** An id as JSON: a canonical decimal integer id is a number, any other id a string. */
export const JsonId = Type.Union([Type.Integer(), Type.String()]);
export type JsonId = Static<typeof JsonId>;

export const ObjectInfo = Type.Object({
  id: JsonId,
  size: Type.Integer({
    description:
      "Bytes of the stored content; for an item (POST /data), the UTF-8 bytes of its `data` (GET /data/{id} answers the JSON around it)",
  }),
  etag: Type.String({
    description:
      'Strong, keyed ETag of this write, e.g. `"k1-…"`: `k1` is the version of the ETag format (docs/FORMAT.md), not a key version (that is `keyVersion`)',
  }),
  contentType: Type.String(),
  created: DateTime,
  modified: DateTime,
  keyVersion: Type.Integer(),
});
export type ObjectInfo = Static<typeof ObjectInfo>;

/** An entry of GET /objects: the object's metadata and whether POST /data made it. */
export const ListedObject = Type.Object({
  ...ObjectInfo.properties,
  kind: StringEnum(["blob", "item"], { description: "item: made by POST /data" }),
});
export type ListedObject = Static<typeof ListedObject>;

/** GET /objects pages: at most `max` entries, `default` unless the client asks. */
export const FOLDER_PAGE_LIMIT = { default: 100, max: 1000 } as const;

export const FolderQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024, default: "" })),
    delimiter: Type.Optional(StringEnum(["/"])),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: FOLDER_PAGE_LIMIT.max, default: FOLDER_PAGE_LIMIT.default }),
    ),
  },
  { additionalProperties: false },
);
export type FolderQuery = Static<typeof FolderQuery>;

export const FolderPage = Type.Object({
  prefix: Type.String(),
  folders: Type.Array(Type.String(), { description: "Folder prefixes, each ending in /" }),
  objects: Type.Array(ListedObject),
  next: Nullable(Type.String()),
});
export type FolderPage = Static<typeof FolderPage>;

/** GET /data pages: at most `max` ids, `default` unless the client asks. */
export const ID_PAGE_LIMIT = { default: 1000, max: 10000 } as const;

export const IdListQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: ID_PAGE_LIMIT.max, default: ID_PAGE_LIMIT.default }),
    ),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type IdListQuery = Static<typeof IdListQuery>;

export const IdList = Type.Array(JsonId);

/** POST /data: the seed's item; extra fields are ignored, as the seed did. */
export const CreateItemRequest = Type.Object({
  id: Type.Optional(Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
  data: Type.String(),
});
export type CreateItemRequest = Static<typeof CreateItemRequest>;

export const Item = Type.Object({ id: Type.Integer(), data: Type.String() });
export type Item = Static<typeof Item>;

/** The bounds of a download link's lifetime: objects/download-link-service.ts holds them. */
export interface LinkLimits {
  defaultSeconds: number;
  maxSeconds: number;
}

/** POST /data/{id}/link's body. */
export const linkRequest = (limits: LinkLimits) =>
  Type.Object(
    {
      expiresInSeconds: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: limits.maxSeconds,
          default: limits.defaultSeconds,
          description: "Lifetime of the link in seconds",
        }),
      ),
    },
    { additionalProperties: false },
  );
export type LinkRequest = Static<ReturnType<typeof linkRequest>>;

export const Link = Type.Object({
  url: Type.String({
    format: "uri",
    description: "Downloads the object with GET (Range supported), no token needed",
  }),
  expiresAt: DateTime,
  id: Type.Optional(JsonId),
  etag: Type.Optional(Type.String({ description: "The version of the object the link is bound to" })),
});
export type Link = Static<typeof Link>;
