import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode, errorFromResponse, networkError, oneLine, parseProblem } from "../../src/cli/errors.js";
import { problem, runCli, tempHome } from "../helpers/cli-fakes.js";
import { freePort } from "../helpers/server-process.js";

const p = (code: string, detail: string) => ({ title: code, detail, code });

describe("problem+json → one line and an exit code", () => {
  it("401 says how to give a token, exit 4", () => {
    const e = errorFromResponse(401, p("unauthorized", "missing bearer token"));
    expect(e.message).toBe(
      "the token is missing or wrong: set SSE_TOKEN, pass --token, or run `ssestore login`",
    );
    expect(e.exitCode).toBe(ExitCode.auth);
  });

  it("401 names where the token came from, and the way out", async () => {
    const unauthorized = async () => problem(401, "unauthorized", "unknown token");
    const flag = await runCli(["whoami", "--token", "sse_x"], { fetch: unauthorized });
    expect(flag.stderr).toMatch(
      /^error: the token given with --token is wrong, expired or revoked; `ssestore login/,
    );
    const env = await runCli(["whoami"], { fetch: unauthorized });
    expect(env.stderr).toMatch(
      /^error: the token in SSE_TOKEN is wrong, expired or revoked; .*unset SSE_TOKEN/,
    );
    const dir = tempHome();
    const file = path.join(dir, "config.json");
    fs.writeFileSync(file, JSON.stringify({ token: "sse_saved" }), { mode: 0o600 });
    const saved = await runCli(["whoami"], {
      fetch: unauthorized,
      env: { SSE_TOKEN: undefined, SSE_CONFIG: file },
    });
    expect(saved.stderr).toBe(
      `error: the token saved in ${file} is wrong, expired or revoked; run \`ssestore login\` to replace it\n`,
    );
    const none = await runCli(["whoami"], {
      fetch: unauthorized,
      env: { SSE_TOKEN: undefined, SSE_CONFIG: path.join(dir, "absent.json") },
    });
    expect(none.stderr).toBe(
      "error: no token: set SSE_TOKEN, pass --token, or save one with `ssestore login`\n",
    );
    for (const r of [flag, env, saved, none]) expect(r.code).toBe(4);
  });

  it("403 says the token lacks the scope or role, exit 4", () => {
    const e = errorFromResponse(403, p("forbidden", "needs the write scope"));
    expect(e.message).toBe("the token lacks the scope or role this needs: needs the write scope");
    expect(e.exitCode).toBe(4);
  });

  it("429 is an auth throttle with the wait time", () => {
    const e = errorFromResponse(429, p("too_many_requests", "slow down"), {}, { retryAfter: "30" });
    expect(e.message).toContain("retry in 30 s");
    expect(e.exitCode).toBe(4);
  });

  it("404 names the object when the caller says what was looked up, exit 3", () => {
    expect(errorFromResponse(404, p("not_found", "no such object"), { notFound: "a/b.txt" }).message).toBe(
      "a/b.txt not found",
    );
    const e = errorFromResponse(404, p("not_found", "Route POST:/x not found"));
    expect(e.message).toBe("Route POST:/x not found (not_found)");
    expect(e.exitCode).toBe(ExitCode.notFound);
  });

  it("a 404 without a body (HEAD) still names the id", () => {
    expect(errorFromResponse(404, undefined, { notFound: "x" }).message).toBe("x not found");
  });

  it("integrity failures exit 5", () => {
    expect(errorFromResponse(500, p("integrity_error", "stored data failed authentication")).exitCode).toBe(
      5,
    );
    const d = errorFromResponse(400, p("digest_mismatch", "digest mismatch"), {
      digestMismatch: "file changed",
    });
    expect(d.message).toBe("file changed");
    expect(d.exitCode).toBe(5);
  });

  it("anything else shows detail and code, exit 1", () => {
    const e = errorFromResponse(413, p("payload_too_large", "the object is larger than 5 GiB"));
    expect(e.message).toBe("the object is larger than 5 GiB (payload_too_large)");
    expect(e.exitCode).toBe(1);
    expect(errorFromResponse(409, { title: "Conflict" }).message).toBe("Conflict");
  });

  it("412 uses the caller's message", () => {
    expect(
      errorFromResponse(412, p("precondition_failed", "x"), { preconditionFailed: "k already exists" })
        .message,
    ).toBe("k already exists");
  });

  it("409 key_version_in_use gets the rewrap hint", () => {
    const e = errorFromResponse(409, p("key_version_in_use", "version 1 wraps 3 objects"), {
      conflictHint: "rewrap",
    });
    expect(e.message).toBe("version 1 wraps 3 objects (key_version_in_use); rewrap");
  });

  it("a body that is not problem+json falls back to the status line", () => {
    expect(parseProblem("<html>bad gateway</html>")).toBeUndefined();
    expect(parseProblem("")).toBeUndefined();
    expect(errorFromResponse(502, undefined, {}, { statusText: "Bad Gateway" }).message).toBe(
      "HTTP 502 Bad Gateway",
    );
  });

  it("keeps the server's text on one line", () => {
    expect(oneLine("a\nb\r\n\tc\u0000d")).toBe("a b c d");
    expect(errorFromResponse(400, p("bad_request", "line one\nline two")).message).toBe(
      "line one line two (bad_request)",
    );
  });

  it("connection refused → cannot reach <url>", () => {
    const err = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
    });
    expect(networkError(err, "http://127.0.0.1:1").message).toBe("cannot reach http://127.0.0.1:1");
  });
});

describe("errors as the user sees them", () => {
  it("prints exactly one line on stderr, nothing on stdout", async () => {
    const r = await runCli(["rm", "missing"], { fetch: async () => new Response(null, { status: 404 }) });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("error: missing not found\n");
    expect(r.stdout).toBe("");
  });

  it("with --json the error is a JSON object on stderr", async () => {
    const r = await runCli(["--json", "rm", "x"], {
      fetch: async () => problem(401, "unauthorized", "no token"),
    });
    expect(r.code).toBe(4);
    const e = JSON.parse(r.stderr);
    expect(e.error).toMatchObject({ exitCode: 4, status: 401, code: "unauthorized", requestId: "req-1" });
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("an unreachable server is one line, exit 1", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(["whoami"], { env: { SSE_URL: url }, fetch: globalThis.fetch });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot reach ${url}\n`);
  });

  it("a non-JSON success body is reported, not thrown", async () => {
    const r = await runCli(["whoami"], { fetch: async () => new Response("hello", { status: 200 }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*not JSON\n$/);
  });
});
