// Requests signed by the real AWS signer (@smithy/signature-v4, configured as the S3 client configures
// it), turned into what the verifier receives: the test oracle for src/s3/sigv4.ts.
import { createHash, createHmac } from "node:crypto";
import { S3RequestPresigner } from "@aws-sdk/s3-request-presigner";
import { escapeUri, HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import type { SourceData } from "@smithy/types";
import { HeaderIndex } from "../../src/s3/headers.js";
import type { S3RequestInput } from "../../src/s3/sigv4.js";

export const ACCESS_KEY = "AKIDSSESTORETEST01";
export const SECRET = "s3cr3t/K3y+With/Odd=Chars0123456789abcd";

function toBuffer(d: SourceData): Buffer {
  if (typeof d === "string") return Buffer.from(d);
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

/** node:crypto behind smithy's Checksum interface (HMAC when given a key). */
export class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(this.secret));
  }
  update(data: string | Uint8Array): void {
    this.h.update(
      typeof data === "string"
        ? Buffer.from(data)
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

export function s3Signer(region = "us-east-1", secret = SECRET, accessKeyId = ACCESS_KEY): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret },
    region,
    service: "s3",
    sha256: NodeSha256,
    // The S3 client's settings: the path is signed as sent (encoded once), and no body hashing of its own.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** "/bucket/k%20ey": each segment encoded the way the SDK's S3 serializer does. */
export function s3Path(bucket: string, key?: string): string {
  if (key === undefined) return `/${bucket}`;
  return `/${bucket}/${key.split("/").map(escapeUri).join("/")}`;
}

export interface Unsigned {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  host?: string;
}

/** The query string as the SDK's HTTP handler writes it, except that an empty value is a bare name (`?uploads`). */
export function serializeQuery(query: Record<string, string | string[]> = {}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === "") parts.push(escapeUri(k));
    else for (const one of Array.isArray(v) ? v : [v]) parts.push(`${escapeUri(k)}=${escapeUri(one)}`);
  }
  return parts.join("&");
}

function build(r: Unsigned): HttpRequest {
  return new HttpRequest({
    method: r.method,
    protocol: "http:",
    hostname: r.host ?? "127.0.0.1",
    port: 9000,
    path: r.path,
    query: (r.query ?? {}) as Record<string, string>,
    headers: { host: `${r.host ?? "127.0.0.1"}:9000`, ...r.headers },
  });
}

function toInput(req: HttpRequest): S3RequestInput {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(req.headers)) raw.push(k, v);
  return {
    method: req.method,
    rawPath: req.path,
    rawQuery: serializeQuery(req.query as Record<string, string | string[]>),
    headers: new HeaderIndex(raw),
  };
}

export async function signHeader(
  r: Unsigned,
  opts: { signingDate?: Date; signer?: SignatureV4; payloadHash?: string } = {},
): Promise<S3RequestInput> {
  const req = build(r);
  req.headers["x-amz-content-sha256"] = opts.payloadHash ?? createHash("sha256").update("").digest("hex");
  const signed = (await (opts.signer ?? s3Signer()).sign(req, {
    signingDate: opts.signingDate ?? new Date(),
  })) as HttpRequest;
  return toInput(signed);
}

/** Presigned by @aws-sdk/s3-request-presigner, the presigner behind getSignedUrl. */
export async function presign(
  r: Unsigned,
  opts: { signingDate?: Date; expiresIn?: number; region?: string } = {},
): Promise<S3RequestInput> {
  const presigner = new S3RequestPresigner({
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    region: opts.region ?? "us-east-1",
    sha256: NodeSha256,
  });
  const signed = (await presigner.presign(build(r), {
    signingDate: opts.signingDate ?? new Date(),
    expiresIn: opts.expiresIn ?? 900,
  })) as HttpRequest;
  return toInput(signed);
}

/** Keys that trip up URI encoding: every one must sign and verify the same on both sides. */
export const S3_KEY_ODDITIES = [
  "plain.txt",
  "with space.txt",
  "plus+sign",
  "100%.txt",
  "%20literal-percent-20",
  "tilde~file",
  "bang!star*quote'paren(s)",
  "Quarterly Report (final) é.txt",
  "日本語/ファイル.txt",
  "emoji 🎉.bin",
  "e\u0301 decomposed",
  "a//double//slash",
  "trailing/slash/",
  "/leading-slash",
  "hash#question?amp&equals=",
  "dollar$at@colon:semi;comma,",
  'brackets[]{}^`|\\"<>',
  "dots/./and/../here",
  "~",
  " ",
];
