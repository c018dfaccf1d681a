// Download links: POST /data/{id}/link makes one (bearer, read scope); GET /links/{token} uses it
// without a token. The token sits in the path, so these routes are marked redactPath: the log shows
// only their pattern (redact-path.ts).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { NoContent, WildcardParams } from "../api/fields.js";
import { bytesContent, Link, type LinkRequest, linkRequest } from "../api/objects.js";
import type { AuditLog } from "../audit/audit-log.js";
import { AppError } from "../errors.js";
import {
  DEFAULT_LINK_SECONDS,
  type DownloadLinkService,
  MAX_LINK_SECONDS,
} from "../objects/download-link-service.js";
import { idToJson, validateObjectId } from "../objects/object-id.js";
import type { ObjectService } from "../objects/object-service.js";
import { noteAuditTarget } from "./audit-hooks.js";
import { principalOf } from "./auth-plugin.js";
import { attachment, downloadName } from "./content-disposition.js";
import { sendObject } from "./object-response.js";
import { problemResponses } from "./openapi.js";
import { linkBaseUrl, type PublicUrlOptions } from "./public-url.js";

export interface LinkRoutesOptions {
  /** Names a link download's owner and object in its audit event. */
  audit?: AuditLog | null;
  objects: ObjectService;
  links: DownloadLinkService;
  /** Where link URLs point (never a client's Host header unless a trusted proxy sets it). */
  publicUrl: PublicUrlOptions;
}

const LINK_SUFFIX = "/link";

/** `/<file name>` for a link URL, for `wget` and the like; none where a URL would resolve it away. */
function urlName(name: string): string {
  return name === "" || name === "." || name === ".." ? "" : `/${encodeURIComponent(name)}`;
}

const linkBody = linkRequest({ defaultSeconds: DEFAULT_LINK_SECONDS, maxSeconds: MAX_LINK_SECONDS });

export const linkRoutes: FastifyPluginAsyncTypebox<LinkRoutesOptions> = async (app, opts) => {
  const { objects, links } = opts;

  app.post(
    "/data/*",
    {
      config: { auth: { scope: "read" }, openapiUrl: "/data/{id}/link" },
      schema: {
        tags: ["objects", "links"],
        summary: "Make an expiring download link for an object",
        description: `The URL downloads this object without a token (GET or HEAD, Range supported, \`Content-Disposition: attachment\` with the id's last segment as file name) until it expires (default ${DEFAULT_LINK_SECONDS} s, at most ${MAX_LINK_SECONDS} s, never past the expiry of the token that made it). It is refused (problem+json) once it expires (410 \`link_expired\`), once the object is replaced or deleted (410 \`object_changed\`), and when it was altered, made for another owner, signed by a retired key version, or its token was revoked (403 \`invalid_link\`). Any other POST /data/{id} answers 405. The URL starts with SSE_PUBLIC_URL; without it, with SSE_TRUST_PROXY, with the proxy's X-Forwarded-Proto and X-Forwarded-Host (else Host); otherwise with the server's listen address, never with a client's Host header. With NODE_ENV=production and no SSE_PUBLIC_URL, 501 \`public_url_required\`.`,
        params: WildcardParams,
        body: linkBody,
        response: { 201: Link, ...problemResponses(400, 401, 403, 404, 405, 422, 501) },
      },
      // Before the body is parsed: a POST to an object is 405 whatever its body and type.
      preParsing: async (req, reply, payload) => {
        if (!req.params["*"].endsWith(LINK_SUFFIX)) {
          reply.header("Allow", "GET, HEAD, PUT, DELETE");
          throw new AppError(
            "method_not_allowed",
            "allowed: GET, HEAD, PUT, DELETE (POST only on /data/{id}/link)",
          );
        }
        return payload;
      },
      // A link needs no body: the defaults apply.
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {} satisfies LinkRequest;
      },
    },
    async (req, reply) => {
      const id = req.params["*"].slice(0, -LINK_SUFFIX.length);
      validateObjectId(id);
      const p = principalOf(req);
      // Before any work: a link this server cannot address is refused whatever the object.
      const base = linkBaseUrl(req, opts.publicUrl);
      const made = await links.create({
        owner: p.user.uid,
        id,
        tokenId: p.token.id,
        tokenExpiresAt: p.token.expiresAt,
        expiresInSeconds: req.body.expiresInSeconds,
      });
      reply.code(201).header("Cache-Control", "no-store");
      return {
        url: `${base}/links/${made.token}${urlName(downloadName(made.meta.id, made.meta.kind))}`,
        expiresAt: made.expiresAt.toISOString(),
        id: idToJson(made.meta.id),
        etag: made.meta.etag,
      };
    },
  );

  /** `rest`: `<token>` or `<token>/<file name>` after `/links/` (the router has percent-decoded it). */
  const serve = async (req: FastifyRequest, reply: FastifyReply, rest: string, head: boolean) => {
    const slash = rest.indexOf("/");
    const token = slash < 0 ? rest : rest.slice(0, slash);
    const meta = await links.resolve(token, head ? undefined : (owner, id) => objects.findForRead(owner, id));
    if (opts.audit) noteAuditTarget(req, meta.owner, opts.audit.objectRef(meta.id), meta.kekVersion);
    // The name is the object's own: a link must not serve its bytes as `anything.html`.
    if (slash >= 0 && rest.slice(slash + 1) !== downloadName(meta.id, meta.kind))
      throw new AppError(
        "not_found",
        "this link serves its object only under the object's own file name, or none",
      );
    reply.header("Content-Disposition", attachment(downloadName(meta.id, meta.kind)));
    // The URL is the credential: a page it leads to must not learn it (sendObject adds nosniff and the sandbox).
    reply.header("Referrer-Policy", "no-referrer");
    return sendObject(objects, req, reply, meta, head, "private, no-store");
  };

  const getSchema = {
    tags: ["links"],
    summary: "Download an object through a link (no token)",
    description:
      "Streams the object with its type, `Content-Disposition: attachment` (the object's own name), ETag and `Accept-Ranges: bytes`; `Range` → 206. The path is `/links/{token}` or `/links/{token}/{the object's file name}` (percent-encoded as the URL made it, or otherwise); any other name → 404 `not_found`. Refused links: 403 `invalid_link` (malformed, altered, another owner's, retired key version, revoked token), 410 `link_expired`, 410 `object_changed`.",
    params: WildcardParams,
    response: {
      200: { description: "The object's bytes", content: bytesContent() },
      206: { description: "Partial content", content: bytesContent() },
      304: NoContent("Not modified"),
      ...problemResponses(403, 404, 410, 416),
    },
  };
  app.get(
    "/links/*",
    { config: { public: true, redactPath: true, openapiUrl: "/links/{token}" }, schema: getSchema },
    (req, reply) => serve(req, reply, req.params["*"], false),
  );
  app.head(
    "/links/*",
    {
      config: { public: true, redactPath: true, openapiUrl: "/links/{token}" },
      schema: { ...getSchema, summary: "A link's headers, no body" },
    },
    (req, reply) => serve(req, reply, req.params["*"], true),
  );
  app.route({
    method: ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
    url: "/links/*",
    config: { public: true, redactPath: true },
    schema: { hide: true },
    handler: async (_req, reply) => {
      reply.header("Allow", "GET, HEAD");
      throw new AppError("method_not_allowed", "allowed: GET, HEAD");
    },
  });
};
