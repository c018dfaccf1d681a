// Streaming uploads over node:http(s). Node 20's fetch keeps every byte of a streamed request body in
// memory until the request ends (undici issue #4058), so large PUTs cannot go through fetch.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

export interface UploadInit {
  method: string;
  headers: Headers;
  body: Readable;
  signal?: AbortSignal;
}

/** Sends `body` with backpressure; resolves with the answer as a fetch Response. */
export type UploadFn = (url: URL, init: UploadInit) => Promise<Response>;

function toHeaders(raw: http.IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else if (v !== undefined) h.set(k, v);
  }
  return h;
}

export const nodeUpload: UploadFn = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    let answered = false;
    // A fresh connection: one left half-sent after an early answer must never be reused.
    const req = mod.request(url, {
      method: init.method,
      headers: Object.fromEntries(init.headers),
      agent: false,
    });
    const abort = () => req.destroy(init.signal?.reason ?? new Error("aborted"));
    init.signal?.addEventListener("abort", abort, { once: true });
    req.on("response", (res) => {
      answered = true;
      // The server may answer (401, 413, 412) before reading everything: stop sending.
      if (!init.body.readableEnded) {
        init.body.unpipe(req);
        init.body.destroy();
      }
      res.on("close", () => {
        init.signal?.removeEventListener("abort", abort);
        req.destroy();
      });
      const status = res.statusCode ?? 502;
      const noBody = status === 204 || status === 205 || status === 304;
      const body = noBody
        ? null
        : (Readable.toWeb(res) as WebReadableStream<Uint8Array> as ReadableStream<Uint8Array>);
      if (noBody) res.resume();
      resolve(new Response(body, { status, statusText: res.statusMessage, headers: toHeaders(res.headers) }));
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    init.body.on("error", (err) => req.destroy(err));
    init.body.pipe(req);
  });
