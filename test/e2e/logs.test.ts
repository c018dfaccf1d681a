// The server's log on a real process: JSON lines with request ids, a level that says whose fault
// a failure is, and no secret anywhere.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, issueToken } from "../helpers/api-client.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { flipSegmentBit } from "../helpers/tamper.js";

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  res?: { statusCode: number };
  req?: { method: string; path: string; route?: string };
  err?: { message: string; stack?: string };
}

function lines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`a log line is not JSON: ${l}`);
      }
    });
}

/** Waits until the server has logged the completion (or cut) of request `reqId`. */
async function linesOf(server: ServerProcess, reqId: string, msg: RegExp): Promise<LogLine[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mine = lines(server).filter((l) => l.reqId === reqId);
    if (mine.some((l) => msg.test(l.msg))) return mine;
    if (Date.now() > deadline) throw new Error(`no "${msg}" line for ${reqId}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const INFO = 30;
const ERROR = 50;
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

describe("request logs", () => {
  it("logs a 4xx at info, once, with its request id, route and status", async () => {
    const reqId = `log-404-${randomBytes(4).toString("hex")}`;
    const r = await server.fetch("/data/no-such-object", { headers: { "x-request-id": reqId } });
    expect(r.status).toBe(404);
    expect(r.headers.get("x-request-id")).toBe(reqId);
    const mine = await linesOf(server, reqId, /request completed/);
    expect(mine.every((l) => l.level === INFO)).toBe(true);
    const done = mine.filter((l) => l.msg === "request completed");
    expect(done).toHaveLength(1);
    expect(done[0]!.res?.statusCode).toBe(404);
    expect(done[0]!.req).toMatchObject({ method: "GET", path: "/data/no-such-object", route: "/data/*" });
  });

  it("logs a 5xx at error, with the cause in the log and none of it in the response", async () => {
    const id = `log-500-${randomBytes(4).toString("hex")}`;
    expect((await server.fetch(`/data/${id}`, { method: "PUT", body: "to be damaged" })).status).toBe(201);
    flipSegmentBit(server.dataDir, id);
    const reqId = `log-500-${randomBytes(4).toString("hex")}`;
    const r = await server.fetch(`/data/${id}`, { headers: { "x-request-id": reqId } });
    expect(r.status).toBe(500);
    const problem = (await r.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: "integrity_error", requestId: reqId });
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts:\d+/);
    const mine = await linesOf(server, reqId, /request completed/);
    const done = mine.find((l) => l.msg === "request completed");
    expect(done?.level).toBe(ERROR);
    expect(done?.res?.statusCode).toBe(500);
    expect(mine.some((l) => l.level === ERROR && l.err?.stack?.includes("IntegrityError"))).toBe(true);
  });

  it("logs a response cut mid-stream at error", async () => {
    const id = `log-cut-${randomBytes(4).toString("hex")}`;
    // Ten segments, too many to read whole before the headers: the last one fails mid-stream.
    expect((await server.fetch(`/data/${id}`, { method: "PUT", body: randomBytes(600 * 1024) })).status).toBe(
      201,
    );
    flipSegmentBit(server.dataDir, id, 9);
    const reqId = `log-cut-${randomBytes(4).toString("hex")}`;
    const r = await server.fetch(`/data/${id}`, { headers: { "x-request-id": reqId } });
    expect(r.status).toBe(200);
    await expect(r.arrayBuffer()).rejects.toThrow();
    const mine = await linesOf(server, reqId, /response cut/);
    expect(mine.find((l) => /response cut/.test(l.msg))?.level).toBe(ERROR);
  });

  it("never logs a token: not the bootstrap token, not a created one, not a presented one, not one in a query string", async () => {
    const name = `log${randomBytes(3).toString("hex")}`;
    await createUser(server, name);
    const created = (await issueToken(server, name, { label: "logs" })).token;
    expect(
      (await fetch(`${server.url}/data`, { headers: { authorization: `Bearer ${created}` } })).status,
    ).toBe(200);
    const presented = `sse_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;
    const inQuery = `sse_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;
    const reqId = `log-secret-${randomBytes(4).toString("hex")}`;
    expect((await server.fetch("/data", { headers: { authorization: `Bearer ${presented}` } })).status).toBe(
      401,
    );
    expect(
      (await server.fetch(`/data?after=${inQuery}`, { headers: { "x-request-id": reqId } })).status,
    ).toBe(200);
    await linesOf(server, reqId, /request completed/);
    const out = server.output();
    expect(out).not.toContain(server.token);
    expect(out).not.toContain(created);
    expect(out).not.toContain(presented);
    expect(out).not.toContain(inQuery);
  });
});

describe("the bootstrap token", () => {
  let fresh: ServerProcess;
  afterAll(async () => {
    await fresh?.stop();
    fresh?.cleanup();
  });

  it("is written to a file the log names, and never logged itself", async () => {
    fresh = await startServer({ env: { SSE_BOOTSTRAP_TOKEN: undefined } });
    const file = path.join(fresh.dataDir, "bootstrap-token");
    const token = readFileSync(file, "utf8").trim();
    expect(token).toMatch(/^sse_/);
    const r = await fetch(`${fresh.url}/data`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    // The log is written asynchronously: wait for the line that names the file.
    const deadline = Date.now() + 10_000;
    while (!fresh.output().includes(file) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(fresh.output()).toContain(file);
    expect(fresh.output()).not.toContain(token);
  });
});
