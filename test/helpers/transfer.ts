// Object bodies for the end-to-end tests: sizes, random and pseudo-random bytes, hashes, and
// uploads and downloads of whole objects.
import { createHash, randomBytes } from "node:crypto";
import type { ObjectInfo } from "../../src/api/objects.js";
import type { ServerProcess } from "./server-process.js";

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function sha256(buf: Uint8Array): string {
  return createHash("sha256").update(buf).digest("hex");
}

export function randomData(n: number): Buffer<ArrayBuffer> {
  return randomBytes(n);
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

export interface PutResult {
  status: number;
  body: ObjectInfo;
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

/** GET /data/{id} with the bootstrap token, the body read whole. */
export async function getBytes(
  s: ServerProcess,
  id: string | number,
  headers: Record<string, string> = {},
): Promise<{ res: Response; bytes: Buffer }> {
  const res = await s.fetch(`/data/${id}`, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}
