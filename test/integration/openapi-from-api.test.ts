// /openapi.json is generated from the API schema module (src/api/): its named components are
// src/api's schemas as they are, every reference resolves, and the JSON bodies the routes accept
// are the ones src/api defines (no hand-written copy in between to drift).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditQuery } from "../../src/api/audit.js";
import { NAMED_SCHEMAS } from "../../src/api/components.js";
import { CreateItemRequest } from "../../src/api/objects.js";
import { CreateUserRequest } from "../../src/api/users.js";
import { withNamedRefs } from "../../src/http/openapi.js";
import { startApp, type TestApp } from "../helpers/app.js";

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let t: TestApp;
let doc: Doc;

beforeAll(async () => {
  t = await startApp();
  const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
  expect(res.statusCode).toBe(200);
  doc = res.json() as Doc;
});
afterAll(async () => {
  await t.close();
});

/** Every `$ref` below `node`. */
function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refs(v)));
}

/** The schema a reference names: `#/components/schemas/X`. */
function component(ref: string): unknown {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  expect(m, ref).not.toBeNull();
  return doc.components.schemas[m![1]!];
}

describe("/openapi.json, generated from src/api", () => {
  it("names exactly src/api's shared schemas, each as src/api defines it", () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual(Object.keys(NAMED_SCHEMAS).sort());
    for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) {
      // A component refers to the others by name, as the document does everywhere.
      const expected = JSON.parse(
        JSON.stringify(withNamedRefs(schema, name)).replace(
          /"\$ref":"([^"#]+)#"/g,
          '"$ref":"#/components/schemas/$1"',
        ),
      );
      expect(doc.components.schemas[name], name).toMatchObject(expected);
    }
  });

  it("resolves every reference it makes", () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(0);
    for (const ref of all) expect(component(ref), ref).toBeDefined();
  });

  it("documents the routes' JSON bodies by src/api's schemas", () => {
    const body = (path: string, method: string) =>
      doc.paths[path]?.[method]?.requestBody?.content?.["application/json"]?.schema;
    expect(component((body("/data", "post") as { $ref: string }).$ref)).toMatchObject(
      JSON.parse(JSON.stringify(CreateItemRequest)),
    );
    expect(component((body("/users", "post") as { $ref: string }).$ref)).toMatchObject(
      JSON.parse(JSON.stringify(CreateUserRequest)),
    );
  });

  it("describes object bytes as binary and an item's answer as the Item schema", () => {
    const get = doc.paths["/data/{id}"]?.get?.responses?.["200"]?.content;
    expect(get?.["application/octet-stream"]?.schema).toEqual({ type: "string", format: "binary" });
    expect(get?.["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/Item" });
    const put = doc.paths["/data/{id}"]?.put?.requestBody?.content;
    expect(Object.keys(put ?? {})).toEqual(["application/octet-stream", "*/*"]);
  });

  it("documents the audit routes by src/api's audit schemas", () => {
    const ok = (path: string) =>
      doc.paths[path]?.get?.responses?.["200"]?.content?.["application/json"]?.schema;
    expect(ok("/admin/audit")).toEqual({ $ref: "#/components/schemas/AuditPage" });
    expect(ok("/me/audit")).toEqual({ $ref: "#/components/schemas/AuditPage" });
    expect(ok("/admin/audit/public-key")).toEqual({ $ref: "#/components/schemas/AuditPublicKey" });
    for (const path of ["/admin/audit", "/me/audit"]) {
      const query = doc.paths[path]?.get?.parameters?.filter((p) => p.in === "query").map((p) => p.name);
      expect(query, path).toEqual(Object.keys(AuditQuery.properties));
    }
  });
});
