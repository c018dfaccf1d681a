// Requests fetch refuses to send: over node:http with the path verbatim, or written by hand over
// TCP for answers that come before the body is all sent.
import http from "node:http";
import net from "node:net";

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
