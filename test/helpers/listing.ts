// Listing every id of the caller through GET /data's pages.
import { expect } from "vitest";
import type { JsonId } from "../../src/api/objects.js";
import type { ServerProcess } from "./server-process.js";

/** Every id of the caller, following `Link: rel="next"` to the end. */
export async function listAll(server: ServerProcess, limit = 1000): Promise<JsonId[]> {
  const out: JsonId[] = [];
  let next: string | null = `/data?limit=${limit}`;
  while (next) {
    const res = await server.fetch(next);
    expect(res.status).toBe(200);
    out.push(...((await res.json()) as JsonId[]));
    const link = res.headers.get("link");
    const m = link ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
    next = m ? m[1]!.replace(/^https?:\/\/[^/]+/, "") : null;
  }
  return out;
}
