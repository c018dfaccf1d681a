// Shared OpenAPI/JSON schemas: the problem document and object metadata; the strict body validator.
import AjvModule from "ajv";
import type { FastifySchemaCompiler } from "fastify";
import { ERROR_CATALOGUE } from "../errors.js";

// JSON bodies are typed strictly: {"version": "2"} or {"scopes": "read"} is a 422, and so is an
// unknown field. Fastify's default validator coerces types, which query strings need and bodies
// must not get, and drops unknown fields silently. Routes with a JSON body use this one (their
// path parameters are strings, which need no coercion either).
const Ajv = AjvModule.default ?? AjvModule;
const strictAjv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
});
export const strictValidator: FastifySchemaCompiler<unknown> = ({ schema }) =>
  strictAjv.compile(schema as object);

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
    size: { type: "integer" },
    etag: { type: "string" },
    contentType: { type: "string" },
    created: { type: "string", format: "date-time" },
    modified: { type: "string", format: "date-time" },
    keyVersion: { type: "integer" },
  },
} as const;
