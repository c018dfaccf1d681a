// S3 requests signed by the real AWS signer (@smithy/signature-v4) and sent over node:http to a real
// server, with the body under the test's control: streamed at the test's pace, and a `sent` promise
// that settles once the last byte left, so that a test can kill the server at that very moment.
import { createHash } from "node:crypto";
import http from "node:http";
import { HttpRequest } from "@smithy/core/protocols";
import { s3Signer, serializeQuery } from "./s3-sign.js";

export interface S3Endpoint {
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3RawRequest {
  method: string;
  /** Already encoded, as it goes on the wire: `/bucket/key`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A buffer (signed by its SHA-256) or a stream (UNSIGNED-PAYLOAD; give Content-Length). */
  body?: Buffer | AsyncIterable<Buffer>;
}

export interface S3RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface S3Exchange {
  /** Settles once the whole body was handed to the socket (or the request failed). */
  sent: Promise<void>;
  response: Promise<S3RawResponse>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export async function signS3(to: S3Endpoint, r: S3RawRequest): Promise<Record<string, string>> {
  const host = `127.0.0.1:${to.port}`;
  const payload =
    r.body === undefined
      ? sha256(Buffer.alloc(0))
      : Buffer.isBuffer(r.body)
        ? sha256(r.body)
        : "UNSIGNED-PAYLOAD";
  const req = new HttpRequest({
    method: r.method,
    protocol: "http:",
    hostname: "127.0.0.1",
    port: to.port,
    path: r.path,
    query: r.query ?? {},
    headers: { host, "x-amz-content-sha256": payload, ...(r.headers ?? {}) },
  });
  const signed = (await s3Signer("us-east-1", to.secretAccessKey, to.accessKeyId).sign(req, {
    signingDate: new Date(),
  })) as HttpRequest;
  return signed.headers;
}

/** Sends a signed request; the body streams as the iterable yields. Never rejects `sent`. */
export async function s3Exchange(to: S3Endpoint, r: S3RawRequest): Promise<S3Exchange> {
  const headers = await signS3(to, r);
  const q = serializeQuery(r.query ?? {});
  const req = http.request({
    host: "127.0.0.1",
    port: to.port,
    method: r.method,
    path: q ? `${r.path}?${q}` : r.path,
    headers,
    agent: false,
  });
  const response = new Promise<S3RawResponse>((resolve, reject) => {
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  // The caller may never look at a response of a request cut by a kill.
  response.catch(() => undefined);
  const sent = (async () => {
    try {
      const body = r.body;
      if (body === undefined || Buffer.isBuffer(body)) {
        await new Promise<void>((resolve) => req.end(body ?? Buffer.alloc(0), () => resolve()));
        return;
      }
      for await (const chunk of body) {
        if (req.destroyed) return;
        if (!req.write(chunk))
          await new Promise<void>((resolve) => {
            const done = () => {
              req.off("drain", done);
              req.off("close", done);
              resolve();
            };
            req.once("drain", done);
            req.once("close", done);
          });
      }
      await new Promise<void>((resolve) => req.end(() => resolve()));
    } catch {
      req.destroy();
    }
  })();
  return { sent, response };
}

/** One signed request, answered. */
export async function s3Call(to: S3Endpoint, r: S3RawRequest): Promise<S3RawResponse> {
  return (await s3Exchange(to, r)).response;
}

/** The text of the first `<tag>` in an XML answer. */
export function xmlText(xml: Buffer | string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml.toString())?.[1];
}

/** Every `<tag>…</tag>` element's inner XML. */
export function xmlElements(xml: Buffer | string, tag: string): string[] {
  return [...xml.toString().matchAll(new RegExp(`<${tag}>(.*?)</${tag}>`, "gs"))].map((m) => m[1]!);
}
