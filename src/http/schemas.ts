// Shared OpenAPI/JSON schemas: the problem document and object metadata; the app's validators (bodies strict).
import AjvCompiler, { type ValidatorFactory } from "@fastify/ajv-compiler";
import AjvModule from "ajv";
import { ERROR_CATALOGUE } from "../errors.js";

// JSON bodies are typed strictly: {"version": "2"} or {"scopes": "read"} is a 422, and so is an
// unknown field. Fastify's default validator coerces types, which query strings and path
// parameters need and bodies must not get, and drops unknown fields silently.
const Ajv = AjvModule.default ?? AjvModule;
const strictAjv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
});
const fastifyValidators = AjvCompiler();

/**
 * The app's validator factory (Fastify's `schemaController.compilersFactory.buildValidator`):
 * every route's body through the strict validator above, everything else through Fastify's own
 * (with Fastify's options).
 */
export const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const fastifyDefault = fastifyValidators(externalSchemas, options);
  return (route) => (route.httpPart === "body" ? strictAjv.compile(route.schema) : fastifyDefault(route));
};

export const problemSchema = {
  $id: "Problem",
  type: "object",
  description: "RFC 9457 problem details with a stable machine code",
  required: ["type", "title", "status", "code", "requestId"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", enum: Object.keys(ERROR_CATALOGUE) },
    requestId: { type: "string" },
  },
} as const;

/** Documents problem+json answers for the given statuses (docs only: problems are pre-serialised). */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of statuses) {
    const codes = Object.entries(ERROR_CATALOGUE)
      .filter(([, v]) => v.status === s)
      .map(([k]) => k);
    out[s] = {
      description: `Problem (${codes.join(", ")})`,
      content: { "application/problem+json": { schema: { $ref: "Problem#" } } },
    };
  }
  return out;
}

export const objectInfoSchema = {
  type: "object",
  required: ["id", "size", "etag", "contentType", "created", "modified", "keyVersion"],
  properties: {
    id: { anyOf: [{ type: "integer" }, { type: "string" }] },
    size: {
      type: "integer",
      description:
        "Bytes of the stored content; for an item (POST /data), the UTF-8 bytes of its `data` (GET /data/{id} answers the JSON around it)",
    },
    etag: {
      type: "string",
      description:
        'Strong, keyed ETag of this write, e.g. `"k1-…"`: `k1` is the version of the ETag format (docs/FORMAT.md), not a key version (that is `keyVersion`)',
    },
    contentType: { type: "string" },
    created: { type: "string", format: "date-time" },
    modified: { type: "string", format: "date-time" },
    keyVersion: { type: "integer" },
  },
} as const;
