// Small HTTP client for end-to-end tests: one call per request, with the token made explicit, and
// the users and tokens most tests begin with.
import { expect } from "vitest";
import type { NewToken } from "../../src/api/tokens.js";
import { waitFor } from "./wait-for.js";

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field
  json: any;
}

export interface Target {
  url: string;
  token: string;
}

/** A request with `token` (null: no Authorization header). Strings and buffers are sent as they are, anything else as JSON. */
export async function call(
  server: { url: string },
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Res> {
  const h = new Headers(headers);
  if (token !== null) h.set("authorization", `Bearer ${token}`);
  let payload: string | Blob | undefined;
  if (typeof body === "string") payload = body;
  else if (Buffer.isBuffer(body)) payload = new Blob([new Uint8Array(body)]);
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!h.has("content-type")) h.set("content-type", "application/json");
  }
  const r = await fetch(server.url + path, { method, headers: h, body: payload });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/**
 * Per server and user, the full-scope token the admin issued while the user was enrolling: once a
 * user has enrolled, only the user issues its own tokens, so issueToken issues through this one.
 */
const ownTokens = new Map<string, Map<string, string>>();

/** Creates `name`, and as its enrollment the admin issues it a full-scope token kept for issueToken. */
export async function createUser(
  server: Target,
  name: string,
  role: "user" | "admin" = "user",
): Promise<void> {
  const r = await call(server, "POST", "/users", server.token, { name, role });
  expect(r.status, r.text).toBe(201);
  const own = await call(server, "POST", `/users/${name}/tokens`, server.token, { label: "enrollment" });
  expect(own.status, own.text).toBe(201);
  const byUser = ownTokens.get(server.url) ?? new Map<string, string>();
  byUser.set(name, own.json.token);
  ownTokens.set(server.url, byUser);
}

/**
 * Issues a token to `name`: as `as` when given, else as the user itself through the token that
 * createUser enrolled it with, else (a user made some other way) as the admin.
 */
export async function issueToken(
  server: Target,
  name: string,
  // Loose on purpose: tests also send what the server must refuse.
  opts: { label?: string; scopes?: string[]; expiresInSeconds?: number } = {},
  as: string = ownTokens.get(server.url)?.get(name) ?? server.token,
): Promise<NewToken> {
  const r = await call(server, "POST", `/users/${name}/tokens`, as, opts);
  expect(r.status, r.text).toBe(201);
  return r.json as NewToken;
}

/** Polls `check` until it holds (no fixed sleeps), failing after `timeoutMs`: the tests' waitFor. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, check, { timeoutMs });
}
