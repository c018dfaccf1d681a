// OpenAPI document at /openapi.json, generated from the routes' schemas (src/api/), and Swagger UI at
// /docs, both public and served locally.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { bytesContent, ObjectIdParam } from "../api/objects.js";
import { namedSchemas, problemResponses, withNamedRefs } from "./openapi.js";
import { SSE_STORE_SVG, SWAGGER_SETUP_JS, SWAGGER_THEME_CSS } from "./swagger-setup.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The path shown in OpenAPI when the route's own (a wildcard) says too little. */
    openapiUrl?: string;
  }
}

/** Path parameters of a wildcard route as its OpenAPI URL names them; `{id}` is an object id. */
function wildcardParams(openapiUrl: string) {
  const names = [...openapiUrl.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  const properties = Object.fromEntries(
    names.map((n) => [n, n === "id" ? ObjectIdParam : { type: "string" }] as const),
  );
  return { type: "object", required: names, properties };
}

export const docsPlugin = fp(async (app: FastifyInstance, opts: { version: string }) => {
  for (const schema of namedSchemas()) app.addSchema(schema);
  await app.register(swagger, {
    exposeHeadRoutes: true,
    // Named schemas keep their $id in components (Problem, not def-0).
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
    },
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "SSE Store",
        version: opts.version,
        description:
          "A self-hostable data store that encrypts everything it keeps. Errors are RFC 9457 application/problem+json with a stable `code`; every response carries X-Request-Id.",
      },
      components: {
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description:
              "A token `sse_…` issued by POST /users/{name}/tokens, with scopes `read` and/or `write` and an optional expiry. Missing or invalid → 401; lacking the role or scope → 403; repeated failures from one address → 429 with Retry-After.",
          },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        {
          name: "items",
          description:
            "The seed's API: POST /data, GET /data (every id, items' and objects'), GET /data/{id}",
        },
        { name: "objects", description: "Streamed, encrypted binary objects" },
        { name: "users", description: "Users and tokens" },
        { name: "keys", description: "Key versions, rotation, rewrap" },
        { name: "jobs", description: "Background jobs" },
        { name: "links", description: "Expiring download links: GET without a token" },
        { name: "system", description: "Probes, docs and metrics" },
      ],
    },
    transform: ({ schema, url, route }) => {
      // Wildcard routes carry object ids with slashes: show them as {id}.
      const openapiUrl = route.config?.openapiUrl;
      const out = {
        schema: { ...(schema ?? {}) } as Record<string, unknown>,
        url: openapiUrl ?? url.replace("/*", "/{id}"),
      };
      // The router sees one `*`; the document names what it holds: {id}, or the names of openapiUrl.
      if (url.includes("*")) out.schema.params = wildcardParams(out.url);
      if (route.config?.public) out.schema.security = [];
      // Every authenticated route can answer 401 (no valid token) and 429 (too many failures).
      else if (out.schema.response)
        out.schema.response = { ...problemResponses(401, 429), ...(out.schema.response as object) };
      for (const part of ["body", "response"])
        if (out.schema[part] !== undefined) out.schema[part] = withNamedRefs(out.schema[part]);
      return out;
    },
    transformObject: (doc) => {
      if (!("openapiObject" in doc)) return doc.swaggerObject;
      const openapiObject = doc.openapiObject;
      const put = (
        openapiObject.paths as Record<string, Record<string, Record<string, unknown>>> | undefined
      )?.["/data/{id}"]?.put;
      // application/octet-stream first, so that Swagger UI sends that rather than */* by default.
      if (put)
        put.requestBody = {
          required: true,
          description:
            "The object's bytes, streamed. Its Content-Type is stored as sent (any type; application/octet-stream when absent) and served back on GET",
          content: bytesContent("application/octet-stream", "*/*"),
        };
      return openapiObject;
    },
  });
  // Branded, with the Explore bar on /openapi.json and the token kept across reloads: swagger-setup.ts.
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
    logo: { type: "image/svg+xml", content: SSE_STORE_SVG },
    theme: {
      title: "SSE Store API",
      favicon: [
        {
          filename: "sse-store.svg",
          rel: "icon",
          type: "image/svg+xml",
          sizes: "any",
          content: SSE_STORE_SVG,
        },
      ],
      css: [{ filename: "sse-store.css", content: SWAGGER_THEME_CSS }],
      js: [{ filename: "sse-store-setup.js", content: SWAGGER_SETUP_JS }],
    },
  });
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
});
