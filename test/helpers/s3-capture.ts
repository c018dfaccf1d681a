// A tiny HTTP server on loopback that records each request exactly as a client sent it (method, raw
// URL, raw header list, raw body bytes), so the S3 verifier and body decoder can be fed what real SDKs
// and tools put on the wire. It answers just enough for the client to carry on.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HeaderIndex } from "../../src/s3/headers.js";
import type { S3RequestInput } from "../../src/s3/sigv4.js";

export interface CapturedRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type Responder = (req: CapturedRequest) => Reply | Promise<Reply>;

export interface CaptureServer {
  url: string;
  port: number;
  requests: CapturedRequest[];
  close(): Promise<void>;
}

const XML = { "content-type": "application/xml" };

/** Good enough for SDK calls whose answer we do not look at. */
export const defaultResponder: Responder = (req): Reply => {
  const [path = "", query = ""] = req.url.split("?");
  if (req.method === "GET" && /(^|&)location(=|&|$)/.test(query))
    return { status: 200, headers: XML, body: '<?xml version="1.0" encoding="UTF-8"?><LocationConstraint/>' };
  if (req.method === "GET" && /(^|&)(list-type=2|prefix=|delimiter=)/.test(query))
    return {
      status: 200,
      headers: XML,
      body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${path.split("/")[1]}</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
    };
  if (req.method === "POST" && /(^|&)uploads(=|&|$)/.test(query))
    return {
      status: 200,
      headers: XML,
      body: '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
    };
  if (req.method === "POST" && /(^|&)uploadId=/.test(query))
    return {
      status: 200,
      headers: XML,
      body: '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"e-1"</ETag></CompleteMultipartUploadResult>',
    };
  if (req.method === "POST" && /(^|&)delete(=|&|$)/.test(query))
    return {
      status: 200,
      headers: XML,
      body: '<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>',
    };
  if (req.method === "GET" || req.method === "HEAD")
    return { status: 200, headers: { etag: '"d41d8cd98f00b204e9800998ecf8427e"', "content-length": "0" } };
  return { status: 200, headers: { etag: '"d41d8cd98f00b204e9800998ecf8427e"' } };
};

export async function startCaptureServer(respond: Responder = defaultResponder): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", async () => {
      const captured = {
        method: req.method ?? "",
        url: req.url ?? "",
        rawHeaders: [...req.rawHeaders],
        body: Buffer.concat(parts),
      };
      requests.push(captured);
      const reply = await respond(captured);
      res.writeHead(reply.status, { "x-amz-request-id": "capture", ...reply.headers });
      res.end(req.method === "HEAD" ? undefined : reply.body);
    });
  });
  // Never close an idle kept-alive socket: a test that checks a capture for seconds would otherwise
  // race the client's next request against the close (ECONNRESET on a body it cannot resend).
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The verifier's view of a captured request. */
export function toInput(req: Pick<CapturedRequest, "method" | "url" | "rawHeaders">): S3RequestInput {
  const q = req.url.indexOf("?");
  return {
    method: req.method,
    rawPath: q < 0 ? req.url : req.url.slice(0, q),
    rawQuery: q < 0 ? "" : req.url.slice(q + 1),
    headers: new HeaderIndex(req.rawHeaders),
  };
}
