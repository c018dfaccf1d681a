// Streams a large object to and from a server with node:http, respecting backpressure: the body is
// one 1 MiB random block repeated, so the client costs almost nothing and the bytes are checkable.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";

export const MiB = 1024 * 1024;

export interface TransferResult {
  bytes: number;
  seconds: number;
  /** Decimal megabytes per second (10^6 B/s). */
  mbps: number;
  status: number;
  body?: string;
}

/** The repeated block; one per run so every figure streams the same bytes. */
export function patternBlock(): Buffer {
  return randomBytes(MiB);
}

/** Aborts a transfer that makes no progress for `ms` (a stalled server must not hang the bench). */
function stallGuard(req: http.ClientRequest, ms: number): { touch(): void; clear(): void } {
  let timer = setTimeout(() => req.destroy(new Error(`no progress for ${ms / 1000} s`)), ms);
  return {
    touch() {
      timer.refresh();
    },
    clear() {
      clearTimeout(timer);
      timer = undefined as never;
    },
  };
}

export async function putObject(o: {
  url: string;
  /** A bearer token, or `headers` that authenticate the request otherwise (an S3 signature). */
  token?: string;
  headers?: Record<string, string>;
  block: Buffer;
  bytes: number;
  stallMs?: number;
}): Promise<TransferResult> {
  const t0 = performance.now();
  const req = http.request(o.url, {
    method: "PUT",
    agent: false,
    headers: {
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      "content-type": "application/octet-stream",
      "content-length": String(o.bytes),
      ...o.headers,
    },
  });
  const guard = stallGuard(req, o.stallMs ?? 60_000);
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  // An early answer (401, 413…) ends the upload; stop writing and report it.
  let answered = false;
  response.then(
    () => {
      answered = true;
    },
    () => {
      answered = true;
    },
  );
  let sent = 0;
  while (sent < o.bytes && !answered && !req.destroyed) {
    const n = Math.min(o.block.length, o.bytes - sent);
    const ok = req.write(n === o.block.length ? o.block : o.block.subarray(0, n));
    sent += n;
    guard.touch();
    if (!ok) await Promise.race([once(req, "drain"), response.catch(() => undefined)]);
  }
  req.end();
  try {
    const res = await response;
    let body = "";
    res.setEncoding("utf8");
    for await (const c of res) body += c;
    const seconds = (performance.now() - t0) / 1000;
    return { bytes: sent, seconds, mbps: sent / seconds / 1e6, status: res.statusCode ?? 0, body };
  } finally {
    guard.clear();
  }
}

/**
 * GETs the object, discarding it while checking every byte against the repeated block. A raw
 * socket reading into one reused buffer (net's `onread`) rather than node:http, whose parser copies
 * every body chunk into a new Buffer: on a 2-core machine that client alone took a core at 500 MB/s
 * and capped the figure. The response must be 200 with a Content-Length (as the server sends).
 */
export async function getObject(o: {
  url: string;
  /** A bearer token, or `headers` that authenticate the request otherwise (an S3 signature). */
  token?: string;
  headers?: Record<string, string>;
  block: Buffer;
  bytes: number;
  stallMs?: number;
}): Promise<TransferResult & { verified: boolean }> {
  const u = new URL(o.url);
  const t0 = performance.now();
  const size = o.block.length;
  let head = Buffer.alloc(0);
  let status = 0;
  let length = -1;
  let received = 0;
  let same = true;
  const verify = (chunk: Buffer) => {
    // Compare with the block at this offset, in at most two pieces when the chunk wraps around.
    let off = 0;
    while (same && off < chunk.length) {
      const at = (received + off) % size;
      const n = Math.min(chunk.length - off, size - at);
      if (chunk.compare(o.block, at, at + n, off, off + n) !== 0) same = false;
      off += n;
    }
    received += chunk.length;
  };
  const done = new Promise<void>((resolve, reject) => {
    const socket = net.connect({
      host: u.hostname,
      port: Number(u.port),
      onread: {
        buffer: Buffer.allocUnsafe(4 * MiB),
        callback(n: number, buf: Uint8Array) {
          timer.refresh();
          let data = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (length < 0) {
            head = Buffer.concat([head, data]);
            const end = head.indexOf("\r\n\r\n");
            if (end < 0) return true;
            const lines = head.subarray(0, end).toString("latin1").split("\r\n");
            status = Number(lines[0]!.split(" ")[1]);
            const cl = lines.find((l) => /^content-length:/i.test(l));
            length = cl ? Number(cl.split(":")[1]) : 0;
            data = head.subarray(end + 4);
          }
          if (data.length > 0) verify(data);
          if (received >= length) {
            socket.destroy();
            resolve();
            return false;
          }
          return true;
        },
      },
    });
    const timer = setTimeout(() => socket.destroy(new Error("no progress")), o.stallMs ?? 60_000);
    socket.once("connect", () =>
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n${Object.entries({
          ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}),
          ...o.headers,
        })
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("")}Connection: close\r\n\r\n`,
      ),
    );
    socket.once("error", reject);
    socket.once("close", () => {
      clearTimeout(timer);
      if (length < 0 || received < length)
        reject(new Error(`connection closed after ${received} body bytes`));
    });
  });
  await done;
  const seconds = (performance.now() - t0) / 1000;
  return {
    bytes: received,
    seconds,
    mbps: received / seconds / 1e6,
    status,
    verified: status === 200 && same && received === o.bytes,
  };
}
