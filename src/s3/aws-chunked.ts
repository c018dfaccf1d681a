// The aws-chunked body framing: "hex-size[;chunk-signature=sig]\r\n<data>\r\n"…, a 0-size chunk, then
// optional trailer lines and an empty line. A synchronous push parser: payload bytes leave as views of
// the input buffers (never copied), every line it must hold is bounded, and with a signing context each
// chunk's signature is chained from the previous one (seeded by the request's signature).
import { createHash, createHmac, type Hash, timingSafeEqual } from "node:crypto";
import { S3Error } from "./errors.js";

export const EMPTY_SHA256_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const MAX_CHUNK_LINE = 4096;
export const MAX_TRAILER_BYTES = 16 * 1024;

export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  /** The request's own signature, hex. */
  seedSignature: string;
}

export interface AwsChunkedOptions {
  /** Present: every chunk must carry a valid chained chunk-signature. */
  signing?: ChunkSigning;
  /** Trailer lines may follow the 0-size chunk (their names and values are the caller's to check). */
  allowTrailers?: boolean;
  /** With signing: the trailer must end with a valid x-amz-trailer-signature. */
  signedTrailer?: boolean;
  /** Refuse (early) a body that decodes to more than this many bytes. */
  maxDecodedLength?: number;
}

type State = "size" | "data" | "data-cr" | "data-lf" | "trailer" | "done";

const CR = 0x0d;
const LF = 0x0a;
const SIGNED_HEADER = /^([0-9a-fA-F]{1,13});chunk-signature=([0-9a-f]{64})$/;
const UNSIGNED_HEADER = /^([0-9a-fA-F]{1,13})$/;
const TRAILER_LINE = /^([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

function malformed(what: string): S3Error {
  return new S3Error("InvalidRequest", `The aws-chunked body is malformed: ${what}.`);
}

export function chunkStringToSign(s: ChunkSigning, previous: string, dataSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${s.amzDate}\n${s.scope}\n${previous}\n${EMPTY_SHA256_HEX}\n${dataSha256Hex}`;
}

export function trailerStringToSign(s: ChunkSigning, previous: string, canonicalTrailers: string): string {
  const hash = createHash("sha256").update(canonicalTrailers).digest("hex");
  return `AWS4-HMAC-SHA256-TRAILER\n${s.amzDate}\n${s.scope}\n${previous}\n${hash}`;
}

function signatureMatches(key: Buffer, stringToSign: string, claimedHex: string): boolean {
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  const claimed = Buffer.from(claimedHex, "hex");
  return claimed.length === expected.length && timingSafeEqual(expected, claimed);
}

export class AwsChunkedDecoder {
  #state: State = "size";
  /** Bytes of the line being read (chunk header or trailer), held only until its "\r\n". */
  #line: Buffer[] = [];
  #lineBytes = 0;
  #trailerBytes = 0;
  #remaining = 0;
  #chunkHash: Hash | null = null;
  #chunkSignature = "";
  #previousSignature: string;
  #trailerLines: [string, string][] = [];
  #trailerSignature: string | undefined;
  /** Payload bytes decoded so far. */
  decodedBytes = 0;

  readonly #opts: AwsChunkedOptions;

  constructor(opts: AwsChunkedOptions = {}) {
    this.#opts = opts;
    this.#previousSignature = opts.signing?.seedSignature ?? "";
  }

  get done(): boolean {
    return this.#state === "done";
  }

  /** The trailer lines (lower-case name, value), x-amz-trailer-signature left out; read once done. */
  get trailers(): ReadonlyMap<string, string> {
    return new Map(this.#trailerLines);
  }

  /** Feeds wire bytes; `emit` receives each run of payload bytes, as a view of `buf`. */
  push(buf: Buffer, emit: (data: Buffer) => void): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.#state) {
        case "size":
        case "trailer": {
          const lf = buf.indexOf(LF, i);
          const end = lf < 0 ? n : lf + 1;
          this.#lineBytes += end - i;
          const limit = this.#state === "size" ? MAX_CHUNK_LINE : MAX_TRAILER_BYTES - this.#trailerBytes;
          if (this.#lineBytes > limit)
            throw this.#state === "size"
              ? malformed("a chunk header line is too long")
              : new S3Error("MalformedTrailerError", "The trailer is too long.");
          this.#line.push(buf.subarray(i, end));
          i = end;
          if (lf >= 0) this.#endOfLine();
          break;
        }
        case "data": {
          const take = Math.min(this.#remaining, n - i);
          const data = buf.subarray(i, i + take);
          this.#chunkHash?.update(data);
          this.#remaining -= take;
          i += take;
          emit(data);
          if (this.#remaining === 0) {
            this.#checkChunkSignature();
            this.#state = "data-cr";
          }
          break;
        }
        case "data-cr":
          if (buf[i++] !== CR) throw malformed("a chunk's data is longer than its declared size");
          this.#state = "data-lf";
          break;
        case "data-lf":
          if (buf[i++] !== LF) throw malformed("a chunk's data is not followed by CRLF");
          this.#state = "size";
          break;
        case "done":
          throw malformed("bytes follow the end of the body");
      }
    }
  }

  /** The source ended: fine only if the body was complete. */
  end(): void {
    if (this.#state === "done") return;
    // Tolerated: the final empty line missing after the last chunk or the last trailer line.
    if (this.#state === "trailer" && this.#lineBytes === 0) {
      this.#finishTrailer();
      return;
    }
    throw new S3Error("IncompleteBody", "The aws-chunked body ended before its final chunk.");
  }

  #takeLine(): string {
    const bytes = this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line);
    this.#line = [];
    this.#lineBytes = 0;
    if (bytes.length < 2 || bytes[bytes.length - 2] !== CR) throw malformed("a line does not end with CRLF");
    return bytes.toString("latin1", 0, bytes.length - 2);
  }

  #endOfLine(): void {
    if (this.#state === "size") this.#chunkHeader(this.#takeLine());
    else {
      this.#trailerBytes += this.#lineBytes;
      this.#trailerLine(this.#takeLine());
    }
  }

  #chunkHeader(text: string): void {
    const m = (this.#opts.signing ? SIGNED_HEADER : UNSIGNED_HEADER).exec(text);
    if (!m)
      throw malformed(
        this.#opts.signing
          ? "a chunk header is not 'hex-size;chunk-signature=<64 hex>'"
          : "a chunk header is not a hex size",
      );
    const size = Number.parseInt(m[1]!, 16);
    if (this.#opts.maxDecodedLength !== undefined && this.decodedBytes + size > this.#opts.maxDecodedLength)
      throw malformed("the chunks carry more bytes than x-amz-decoded-content-length declares");
    this.decodedBytes += size;
    if (this.#opts.signing) {
      this.#chunkSignature = m[2]!;
      this.#chunkHash = createHash("sha256");
    }
    if (size > 0) {
      this.#remaining = size;
      this.#state = "data";
      return;
    }
    this.#checkChunkSignature();
    this.#state = "trailer";
  }

  #checkChunkSignature(): void {
    const s = this.#opts.signing;
    if (!s) return;
    const toSign = chunkStringToSign(s, this.#previousSignature, this.#chunkHash!.digest("hex"));
    if (!signatureMatches(s.signingKey, toSign, this.#chunkSignature))
      throw new S3Error(
        "SignatureDoesNotMatch",
        "The chunk signature we calculated does not match the one you provided.",
      );
    this.#previousSignature = this.#chunkSignature;
    this.#chunkHash = null;
  }

  #trailerLine(text: string): void {
    if (text === "") {
      this.#finishTrailer();
      return;
    }
    if (!this.#opts.allowTrailers)
      throw malformed("a trailer follows the final chunk but none was announced");
    if (this.#trailerSignature !== undefined)
      throw new S3Error("MalformedTrailerError", "x-amz-trailer-signature must be the last trailer line.");
    const m = TRAILER_LINE.exec(text);
    if (!m) throw new S3Error("MalformedTrailerError", "A trailer line is not 'name:value'.");
    const name = m[1]!.toLowerCase();
    if (name === "x-amz-trailer-signature") {
      if (!this.#opts.signedTrailer)
        throw new S3Error(
          "MalformedTrailerError",
          "This body's trailer is not signed; x-amz-trailer-signature is unexpected.",
        );
      if (!/^[0-9a-f]{64}$/.test(m[2]!))
        throw new S3Error("MalformedTrailerError", "x-amz-trailer-signature must be 64 hex digits.");
      this.#trailerSignature = m[2]!;
      return;
    }
    if (this.#trailerLines.some(([n]) => n === name))
      throw new S3Error("MalformedTrailerError", `The trailer ${name} appears twice.`);
    this.#trailerLines.push([name, m[2]!]);
  }

  #finishTrailer(): void {
    const s = this.#opts.signing;
    if (s && this.#opts.signedTrailer) {
      if (this.#trailerSignature === undefined)
        throw new S3Error("MalformedTrailerError", "The signed trailer has no x-amz-trailer-signature.");
      let canonical = "";
      for (const [name, value] of this.#trailerLines) canonical += `${name}:${value}\n`;
      if (
        !signatureMatches(
          s.signingKey,
          trailerStringToSign(s, this.#previousSignature, canonical),
          this.#trailerSignature,
        )
      )
        throw new S3Error(
          "SignatureDoesNotMatch",
          "The trailer signature we calculated does not match the one you provided.",
        );
    }
    this.#state = "done";
  }
}
