// What the OpenAPI document adds to the routes' schemas (src/api/): the problem answers of each
// route, and references to the named schemas (components/schemas) in place of their copies.
import { NAMED_SCHEMAS } from "../api/components.js";
import { ERROR_CATALOGUE } from "../errors.js";

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

const byJson = new Map(Object.entries(NAMED_SCHEMAS).map(([name, s]) => [JSON.stringify(s), name]));

/** A copy of `schema` where every named schema (but `except`) is a `$ref` to its component. */
export function withNamedRefs(schema: unknown, except?: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withNamedRefs(s, except));
  if (schema === null || typeof schema !== "object") return schema;
  const name = byJson.get(JSON.stringify(schema));
  if (name !== undefined && name !== except) return { $ref: `${name}#` };
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withNamedRefs(v, except)]));
}

/** The named schemas as Fastify shared schemas (`$id`), which @fastify/swagger lists as components. */
export function namedSchemas(): Record<string, unknown>[] {
  return Object.entries(NAMED_SCHEMAS).map(([name, s]) => ({
    ...(withNamedRefs(s, name) as object),
    $id: name,
  }));
}
