// Shared OpenAPI/JSON schemas: the problem document and object metadata.
import { ERROR_CATALOGUE } from "../errors.js";

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
