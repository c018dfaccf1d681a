// Streams a large object to and from a server with node:http, respecting backpressure: the body is
// one 1 MiB random block repeated, so the client costs almost nothing and the bytes are checkable.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";

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
  token: string;
  block: Buffer;
  bytes: number;
  stallMs?: number;
}): Promise<TransferResult> {
  const t0 = performance.now();
  const req = http.request(o.url, {
    method: "PUT",
    agent: false,
    headers: {
      authorization: `Bearer ${o.token}`,
      "content-type": "application/octet-stream",
      "content-length": String(o.bytes),
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

/** GETs the object, discarding it while checking every byte against the repeated block. */
export async function getObject(o: {
  url: string;
  token: string;
  block: Buffer;
  bytes: number;
  stallMs?: number;
}): Promise<TransferResult & { verified: boolean }> {
  const t0 = performance.now();
  const req = http.request(o.url, {
    method: "GET",
    agent: false,
    headers: { authorization: `Bearer ${o.token}` },
  });
  const guard = stallGuard(req, o.stallMs ?? 60_000);
  req.end();
  try {
    const [res] = (await once(req, "response")) as [http.IncomingMessage];
    let received = 0;
    let same = true;
    const size = o.block.length;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      guard.touch();
      // Compare with the block at this offset, in at most two pieces when the chunk wraps around.
      let off = 0;
      while (same && off < chunk.length) {
        const at = (received + off) % size;
        const n = Math.min(chunk.length - off, size - at);
        if (chunk.compare(o.block, at, at + n, off, off + n) !== 0) same = false;
        off += n;
      }
      received += chunk.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const status = res.statusCode ?? 0;
    return {
      bytes: received,
      seconds,
      mbps: received / seconds / 1e6,
      status,
      verified: status === 200 && same && received === o.bytes,
    };
  } finally {
    guard.clear();
  }
}
