// Small helpers shared by the end-to-end suites: problem checks, raw HTTP over node:http and
// node:net (for requests fetch refuses to send), body hashing and polling.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import Database from "better-sqlite3";
import { expect } from "vitest";
import { metricValue, parseMetrics } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait-for.js";
import type { ServerProcess } from "./harness.js";

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function sha256(buf: Uint8Array): string {
  return createHash("sha256").update(buf).digest("hex");
}

export function randomData(n: number): Buffer<ArrayBuffer> {
  return randomBytes(n);
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  requestId: string;
}

/** Asserts an RFC 9457 problem with the given status (and code), carrying the X-Request-Id. */
export async function expectProblem(res: Response, status: number, code?: string): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, `status of ${text}`).toBe(status);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as ProblemBody;
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

/** The tests' one polling helper (test/helpers/wait-for.ts), for the e2e files that import util. */
export { waitFor };

/** The server has an upload in hand: it shows in the in-flight gauge (`count` of them). */
export async function uploadInFlight(server: ServerProcess, count = 1): Promise<void> {
  const labels = { method: "PUT", route: "/data/*" };
  await waitFor("the upload to be in flight", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return metricValue(parseMetrics(text), "sse_http_requests_in_flight", labels) === count;
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequestOptions {
  port: number;
  method: string;
  /** Sent verbatim: no normalisation of `.`/`..` segments, unlike fetch. */
  path: string;
  headers?: Record<string, string | number>;
  token?: string;
  body?: Buffer | string | AsyncIterable<Buffer>;
}

/** One request over node:http on a fresh connection, path sent verbatim. */
export function rawRequest(opts: RawRequestOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.token && !Object.keys(headers).some((k) => k.toLowerCase() === "authorization"))
      headers.authorization = `Bearer ${opts.token}`;
    const req = http.request({
      host: "127.0.0.1",
      port: opts.port,
      method: opts.method,
      path: opts.path,
      headers,
      agent: false,
    });
    let settled = false;
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
      });
      res.on("error", (err) => {
        if (!settled) reject(err);
      });
    });
    req.on("error", (err) => {
      // node:http may lose an early answer when a write fails first: see socketRequest for those.
      if (!settled) reject(err);
    });
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else
      void (async () => {
        try {
          for await (const chunk of body) {
            if (req.destroyed || settled) return;
            if (!req.write(chunk))
              await new Promise<void>((r) => {
                const done = () => {
                  req.off("drain", done);
                  req.off("close", done);
                  r();
                };
                req.once("drain", done);
                req.once("close", done);
              });
          }
          req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      })();
  });
}

export function rawJson<T = unknown>(res: RawResponse): T {
  return JSON.parse(res.body.toString("utf8")) as T;
}

export interface SocketExchange {
  /** Everything the server sent. */
  data: Buffer;
  /** True when the server closed the connection (rather than our deadline). */
  closedByServer: boolean;
}

/**
 * Writes raw bytes over TCP and collects what comes back until the server closes the connection,
 * `until` says enough, or the deadline passes. Never throws on resets.
 */
export function socketExchange(
  port: number,
  payload: (Buffer | string)[],
  opts: { halfClose?: boolean; until?: (data: Buffer) => boolean; timeoutMs?: number } = {},
): Promise<SocketExchange> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(parts), closedByServer });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 10_000);
    sock.on("data", (d: Buffer) => {
      parts.push(d);
      if (opts.until?.(Buffer.concat(parts))) finish(false);
    });
    sock.on("close", () => finish(true));
    sock.on("error", () => finish(true));
    sock.on("connect", () => {
      for (const p of payload) sock.write(p);
      if (opts.halfClose) sock.end();
    });
  });
}

/** Status codes of every HTTP response found in a raw byte stream. */
export function statusCodes(data: Buffer): number[] {
  return [...data.toString("latin1").matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Reads a fetch body to the end; an abort mid-body is reported, not thrown. */
export async function readBody(res: Response): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  if (!res.body) return { bytes: Buffer.alloc(0), error: null };
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(Buffer.from(value));
    }
  } catch (err) {
    return { bytes: Buffer.concat(parts), error: err };
  }
  return { bytes: Buffer.concat(parts), error: null };
}

/** Every id of the caller, following `Link: rel="next"` to the end. */
export async function listAll(server: ServerProcess, limit = 1000): Promise<(string | number)[]> {
  const out: (string | number)[] = [];
  let next: string | null = `/data?limit=${limit}`;
  while (next) {
    const res = await server.fetch(next);
    expect(res.status).toBe(200);
    out.push(...((await res.json()) as (string | number)[]));
    const link = res.headers.get("link");
    const m = link ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
    next = m ? m[1]!.replace(/^https?:\/\/[^/]+/, "") : null;
  }
  return out;
}

export interface PutResult {
  status: number;
  body: {
    id: string | number;
    size: number;
    etag: string;
    contentType: string;
    created: string;
    modified: string;
    keyVersion: number;
  };
  headers: Headers;
}

export async function putObject(
  server: ServerProcess,
  id: string,
  body: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string> = {},
): Promise<PutResult> {
  const res = await server.fetch(`/data/${id}`, { method: "PUT", body, headers });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT /data/${id} → ${res.status} ${text}`);
  return { status: res.status, body: JSON.parse(text), headers: res.headers };
}

/** Deterministic pseudo-random bytes (a SHA-256 counter stream), so big bodies need no buffering. */
export function* pseudoRandomChunks(
  seed: string,
  total: number,
  chunkSize = 64 * KiB + 123,
): Generator<Buffer> {
  let sent = 0;
  let counter = 0;
  while (sent < total) {
    const n = Math.min(chunkSize, total - sent);
    const chunk = Buffer.allocUnsafe(n);
    for (let off = 0; off < n; off += 32) {
      const block = createHash("sha256").update(`${seed}:${counter++}`).digest();
      block.copy(chunk, off, 0, Math.min(32, n - off));
    }
    sent += n;
    yield chunk;
  }
}

/** `fetch` init for a streamed (chunked) request body. */
export function streamedInit(
  method: string,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  headers: Record<string, string> = {},
): RequestInit {
  const iter = (async function* () {
    for await (const c of chunks) yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  })();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iter.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
  return { method, body: stream, headers, duplex: "half" } as RequestInit;
}

/** A raw TCP connection to drive a request step by step (send, wait for an answer, send more). */
export class RawConnection {
  private readonly sock: net.Socket;
  private readonly parts: Buffer[] = [];
  closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.sock = net.connect(port, "127.0.0.1");
    this.ready = new Promise((resolve, reject) => {
      this.sock.once("connect", () => resolve());
      this.sock.once("error", reject);
    });
    this.sock.on("data", (d: Buffer) => this.parts.push(d));
    this.sock.on("close", () => {
      this.closed = true;
    });
    this.sock.on("error", () => {
      this.closed = true;
    });
  }

  get data(): Buffer {
    return Buffer.concat(this.parts);
  }

  write(b: Buffer | string): void {
    this.sock.write(b);
  }

  /** Waits until `n` responses have arrived (or the connection closed). */
  async responses(n: number, timeoutMs = 10_000): Promise<number[]> {
    await waitFor(`${n} responses`, () => this.closed || statusCodes(this.data).length >= n, { timeoutMs });
    return statusCodes(this.data);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Every process below `pid` (Linux /proc), children first in the list order of discovery. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      // Fields after the parenthesised command name: state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * A real `kill -9` of the server. The harness's kill() signals the tsx wrapper only, and SIGKILL
 * cannot be relayed, so the node process that serves would live on as an orphan; kill it first.
 */
/** GET /data/{id} with the bootstrap token, the body read whole. */
export async function getBytes(
  s: ServerProcess,
  id: string | number,
  headers: Record<string, string> = {},
): Promise<{ res: Response; bytes: Buffer }> {
  const res = await s.fetch(`/data/${id}`, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

export async function killHard(server: ServerProcess): Promise<void> {
  const pid = server.proc.pid;
  if (pid !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) {
    for (const p of descendants(pid).reverse()) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  await server.kill();
  // Nothing may still answer on its port.
  await waitFor("the killed server to stop answering", async () => {
    try {
      await fetch(`${server.url}/health`);
      return false;
    } catch {
      return true;
    }
  });
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Sum of every blob stored in objects.db: ciphertext, garbage included. */
export function storedBlobBytes(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    let total = 0;
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      for (const c of db.prepare(`PRAGMA table_info(${q(name)})`).all() as { name: string }[]) {
        const r = db
          .prepare(
            `SELECT sum(length(${q(c.name)})) AS n FROM ${q(name)} WHERE typeof(${q(c.name)}) = 'blob'`,
          )
          .get() as { n: number | null };
        total += r.n ?? 0;
      }
    }
    return total;
  } finally {
    db.close();
  }
}

/**
 * One request written by hand over TCP, for answers that come before the body is all sent (early
 * 413): stops writing as soon as the response head arrives, then reads the response to its end.
 * `chunked` frames the body with Transfer-Encoding: chunked; otherwise pass a Content-Length header.
 */
export function socketRequest(opts: {
  port: number;
  method: string;
  path: string;
  headers: Record<string, string | number>;
  body: Iterable<Buffer> | AsyncIterable<Buffer>;
  chunked: boolean;
  timeoutMs?: number;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(opts.port, "127.0.0.1");
    const parts: Buffer[] = [];
    let head: {
      status: number;
      headers: http.IncomingHttpHeaders;
      bodyStart: number;
      length: number;
    } | null = null;
    let done = false;
    const finish = (err: Error | null, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(
      () => finish(new Error("no complete response in time")),
      opts.timeoutMs ?? 30_000,
    );
    const tryParse = () => {
      const data = Buffer.concat(parts);
      if (!head) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) return;
        const lines = data.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
        const headers: http.IncomingHttpHeaders = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(":");
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        head = { status, headers, bodyStart: end + 4, length: Number(headers["content-length"] ?? 0) };
      }
      if (data.length >= head.bodyStart + head.length)
        finish(null, {
          status: head.status,
          headers: head.headers,
          body: data.subarray(head.bodyStart, head.bodyStart + head.length),
        });
    };
    sock.on("data", (d: Buffer) => {
      parts.push(d);
      tryParse();
    });
    sock.on("error", () => undefined);
    sock.on("close", () =>
      finish(
        new Error(
          `connection closed; received ${JSON.stringify(Buffer.concat(parts).toString("latin1").slice(0, 200))}`,
        ),
      ),
    );
    sock.on("connect", async () => {
      const lines = [`${opts.method} ${opts.path} HTTP/1.1`, "Host: 127.0.0.1"];
      for (const [k, v] of Object.entries(opts.headers)) lines.push(`${k}: ${v}`);
      if (opts.chunked) lines.push("Transfer-Encoding: chunked");
      sock.write(`${lines.join("\r\n")}\r\n\r\n`);
      try {
        for await (const chunk of opts.body) {
          if (head || done || sock.destroyed) return;
          const framed = opts.chunked
            ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")])
            : chunk;
          if (!sock.write(framed))
            await new Promise<void>((r) => {
              const go = () => {
                sock.off("drain", go);
                sock.off("close", go);
                r();
              };
              sock.on("drain", go);
              sock.on("close", go);
            });
        }
        if (opts.chunked && !head && !done) sock.write("0\r\n\r\n");
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}
