// Failed authentication is throttled per client address: after a burst of failures, 429 with
// Retry-After; other addresses and valid tokens are not slowed; the window passes.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createUser, issueToken, until } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { unknownToken } from "../helpers/tokens.js";

const LIMIT = 5;

/** GET `path` from a chosen local address (the whole of 127/8 is loopback on Linux). */
function getFrom(
  server: ServerProcess,
  localAddress: string,
  path: string,
  token: string,
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      { localAddress, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"] as string | undefined,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function burn(
  server: ServerProcess,
  n: number,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++)
    statuses.push((await call(server, "GET", "/me", unknownToken(), undefined, headers)).status);
  return statuses;
}

describe("throttling failed authentication (direct clients)", () => {
  let server: ServerProcess;
  let alice: string;

  beforeAll(async () => {
    server = await startServer({
      env: { SSE_AUTH_FAILURE_LIMIT: String(LIMIT), SSE_AUTH_FAILURE_WINDOW: "60" },
    });
    await createUser(server, "alice");
    alice = (await issueToken(server, "alice")).token;
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it("answers 429 with Retry-After after a burst of failures from one address", async () => {
    expect(await burn(server, LIMIT)).toEqual(Array(LIMIT).fill(401));
    const r = await call(server, "GET", "/me", unknownToken());
    expect(r.status).toBe(429);
    expect(r.json.code).toBe("too_many_requests");
    const wait = Number(r.headers.get("retry-after"));
    expect(Number.isInteger(wait) && wait >= 1 && wait <= 60).toBe(true);
    // Every kind of failure counts the same: malformed, expired, revoked.
    expect((await call(server, "GET", "/data", "not-a-token-at-all-but-long")).status).toBe(429);
  });

  it("still serves valid tokens from the throttled address", async () => {
    expect((await call(server, "GET", "/me", alice)).status).toBe(200);
    expect((await call(server, "GET", "/me", server.token)).status).toBe(200);
    expect((await call(server, "PUT", "/data/x", alice, "ok")).status).toBe(201);
  });

  it("does not slow another client address", async () => {
    expect((await getFrom(server, "127.0.0.2", "/me", unknownToken())).status).toBe(401);
    expect((await getFrom(server, "127.0.0.2", "/me", alice)).status).toBe(200);
    expect((await getFrom(server, "127.0.0.1", "/me", unknownToken())).status).toBe(429);
  });

  it("ignores X-Forwarded-For unless SSE_TRUST_PROXY is set", async () => {
    const r = await call(server, "GET", "/me", unknownToken(), undefined, {
      "x-forwarded-for": "198.51.100.9",
    });
    expect(r.status).toBe(429);
  });

  it("does not count requests without a token as guesses", async () => {
    for (let i = 0; i < LIMIT * 2; i++)
      expect((await getFrom(server, "127.0.0.3", "/me", "")).status).toBe(401);
    expect((await getFrom(server, "127.0.0.3", "/me", unknownToken())).status).toBe(401);
  });
});

describe("throttling behind a trusted proxy", () => {
  let server: ServerProcess;
  let alice: string;

  beforeAll(async () => {
    server = await startServer({
      env: { SSE_AUTH_FAILURE_LIMIT: String(LIMIT), SSE_AUTH_FAILURE_WINDOW: "60", SSE_TRUST_PROXY: "true" },
    });
    await createUser(server, "alice");
    alice = (await issueToken(server, "alice")).token;
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it("keys on the forwarded client address", async () => {
    const client = { "x-forwarded-for": "203.0.113.7" };
    expect(await burn(server, LIMIT, client)).toEqual(Array(LIMIT).fill(401));
    expect((await burn(server, 1, client))[0]).toBe(429);
    // Another client behind the same proxy (same socket address) is not slowed.
    expect((await burn(server, 1, { "x-forwarded-for": "203.0.113.8" }))[0]).toBe(401);
    expect((await call(server, "GET", "/me", alice, undefined, client)).status).toBe(200);
    // The address the proxy appends last is the client's: a forged earlier hop changes nothing.
    expect((await burn(server, 1, { "x-forwarded-for": "192.0.2.1, 203.0.113.7" }))[0]).toBe(429);
  });
});

describe("the failure window", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ env: { SSE_AUTH_FAILURE_LIMIT: "1", SSE_AUTH_FAILURE_WINDOW: "2" } });
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it("lets a throttled client try again once the window has passed", async () => {
    // Each 401 is a fresh failure, so the next attempt right after one is refused.
    await until(async () => (await burn(server, 1))[0] === 429, "the limit to apply");
    await until(async () => (await burn(server, 1))[0] === 401, "the window to pass");
  });
});
