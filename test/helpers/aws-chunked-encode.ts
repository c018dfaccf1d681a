// Writes aws-chunked bodies the way minio-go and the AWS SDKs do (from AWS's "Transferring payload in
// multiple chunks" and "Including trailing headers" pages), with the HMACs made by the real SigV4
// signer: the independent side of the body decoder's tests.
import { createHash } from "node:crypto";
import type { SignatureV4 } from "@smithy/signature-v4";

const EMPTY = createHash("sha256").update("").digest("hex");

export interface ChunkSigner {
  signer: SignatureV4;
  signingDate: Date;
  region?: string;
  /** The request's Authorization signature. */
  seed: string;
}

export interface EncodeOptions {
  /** Sizes of the data chunks in order; the last repeats until the data is used up. */
  chunkSizes?: number[];
  signing?: ChunkSigner;
  trailers?: [string, string][];
  signedTrailer?: boolean;
  /** Leave out the final empty line (some writers do). */
  noFinalCrlf?: boolean;
}

function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export async function encodeAwsChunked(data: Buffer, opts: EncodeOptions = {}): Promise<Buffer> {
  const sizes = opts.chunkSizes ?? [65536];
  const out: Buffer[] = [];
  const s = opts.signing;
  let previous = s?.seed ?? "";
  const scope = s ? `${amzDate(s.signingDate).slice(0, 8)}/${s.region ?? "us-east-1"}/s3/aws4_request` : "";
  const sign = async (stringToSign: string) => {
    const sig = await s!.signer.sign(stringToSign, {
      signingDate: s!.signingDate,
      signingRegion: s!.region ?? "us-east-1",
    });
    previous = sig;
    return sig;
  };
  const chunk = async (piece: Buffer) => {
    let header = piece.length.toString(16);
    if (s) {
      const hash = createHash("sha256").update(piece).digest("hex");
      header += `;chunk-signature=${await sign(`AWS4-HMAC-SHA256-PAYLOAD\n${amzDate(s.signingDate)}\n${scope}\n${previous}\n${EMPTY}\n${hash}`)}`;
    }
    out.push(Buffer.from(`${header}\r\n`), piece);
    if (piece.length > 0) out.push(Buffer.from("\r\n"));
  };
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const size = sizes[Math.min(i++, sizes.length - 1)]!;
    await chunk(data.subarray(at, at + size));
    at += size;
  }
  await chunk(Buffer.alloc(0));
  let trailer = "";
  let canonical = "";
  for (const [name, value] of opts.trailers ?? []) {
    trailer += `${name}:${value}\r\n`;
    canonical += `${name}:${value}\n`;
  }
  if (opts.signedTrailer && s) {
    const hash = createHash("sha256").update(canonical).digest("hex");
    trailer += `x-amz-trailer-signature:${await sign(`AWS4-HMAC-SHA256-TRAILER\n${amzDate(s.signingDate)}\n${scope}\n${previous}\n${hash}`)}\r\n`;
  }
  out.push(Buffer.from(opts.noFinalCrlf ? trailer : `${trailer}\r\n`));
  return Buffer.concat(out);
}
