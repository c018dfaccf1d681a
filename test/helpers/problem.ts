// The RFC 9457 problem documents the server answers with, checked the way every test expects them.
import { expect } from "vitest";
import type { Problem } from "../../src/api/problem.js";

/** Asserts an RFC 9457 problem with the given status (and code), carrying the X-Request-Id. */
export async function expectProblem(res: Response, status: number, code?: string): Promise<Problem> {
  const text = await res.text();
  expect(res.status, `status of ${text}`).toBe(status);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as Problem;
  expect(body.status).toBe(status);
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(typeof body.code).toBe("string");
  if (code !== undefined) expect(body.code).toBe(code);
  expect(typeof body.requestId).toBe("string");
  expect(body.requestId.length).toBeGreaterThan(0);
  expect(res.headers.get("x-request-id")).toBe(body.requestId);
  // Never internals.
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|SQLITE|sqlite3|SELECT |INSERT |node_modules/);
  return body;
}
