// The RFC 9457 problem documents the server answers with, checked the way every test expects them.
import { expect } from "vitest";
import type { Problem } from "../../src/api/problem.js";
import { AppError } from "../../src/errors.js";

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

/** The AppError code a domain call fails with, or "no error"; any other failure is thrown on. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return "no error";
}
