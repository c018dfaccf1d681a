// Reads an S3 request body in whichever x-amz-content-sha256 mode it was signed, yields the plaintext
// as it streams, and proves it at the end: SHA-256, chunk and trailer signatures, x-amz-checksum-* (as
// header or trailer), Content-MD5 and the declared length. The consumer must not commit what it wrote
// until the iteration has ended without throwing: bytes are yielded before the proof that covers them.
import { AwsChunkedDecoder, type AwsChunkedDecoder as Decoder } from "./aws-chunked.js";
import {
  CHECKSUM_BYTES,
  CHECKSUM_NAMES,
  type ChecksumAlgorithm,
  checksumFromHeaders,
  checksumHeader,
  contentMd5FromHeaders,
  createHasher,
  decodeBase64Exact,
  type ExpectedChecksum,
  type Hasher,
  isChecksumAlgorithm,
  requestedAlgorithm,
} from "./checksums.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";
import type { PayloadMode } from "./sigv4.js";

export interface PayloadAuth {
  payload: PayloadMode;
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface PayloadPlan {
  mode: PayloadMode;
  /** Plaintext length the client declared (x-amz-decoded-content-length, else Content-Length). */
  length?: number;
  /** Checksums announced in x-amz-trailer, checked against the trailer at the end. */
  trailerChecksums: ChecksumAlgorithm[];
  headerChecksum?: ExpectedChecksum;
  contentMd5?: Buffer;
  /** Every checksum computed over the plaintext (announced, requested, or asked for by the caller). */
  compute: ChecksumAlgorithm[];
  /** Whether the plaintext's MD5 is computed. */
  md5: boolean;
  auth: PayloadAuth;
}

export interface PayloadResult {
  length: number;
  /** MD5 of the plaintext (S3's ETag of a single PUT); absent only when the plan left it out. */
  md5?: Buffer;
  /** Every computed checksum; those the client sent were checked. */
  checksums: Partial<Record<ChecksumAlgorithm, Buffer>>;
  /** The checksum the client declared (header or trailer), if any. */
  declared?: ChecksumAlgorithm;
}

function nonNegativeInteger(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new S3Error("InvalidArgument", `${name} must be a non-negative integer.`);
  return Number(v);
}

function isChunked(mode: PayloadMode): boolean {
  return mode.kind === "streaming-signed" || mode.kind === "streaming-unsigned-trailer";
}

function hasTrailer(mode: PayloadMode): boolean {
  return mode.kind === "streaming-unsigned-trailer" || (mode.kind === "streaming-signed" && mode.trailer);
}

function trailerNames(headers: HeaderIndex, mode: PayloadMode): ChecksumAlgorithm[] {
  const v = headers.get("x-amz-trailer");
  if (v === undefined || v === "") return [];
  if (!hasTrailer(mode))
    throw new S3Error(
      "InvalidRequest",
      "x-amz-trailer needs x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.",
    );
  const out: ChecksumAlgorithm[] = [];
  for (const raw of v.split(",")) {
    const name = raw.trim().toLowerCase();
    const a = name.startsWith("x-amz-checksum-") ? name.slice(15) : "";
    if (!isChecksumAlgorithm(a))
      throw new S3Error(
        "InvalidRequest",
        `The trailer ${name} is not supported; only x-amz-checksum-* trailers are.`,
      );
    if (!out.includes(a)) out.push(a);
  }
  if (out.length > 1)
    throw new S3Error(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.",
    );
  return out;
}

export interface PlanOptions {
  /** Checksums to compute even if the client sent none (to store them, or to answer checksum mode). */
  alsoCompute?: readonly ChecksumAlgorithm[];
  /** Compute the plaintext's MD5 (default true; always when Content-MD5 is sent). */
  md5?: boolean;
}

/** Checks the body's headers before any byte is read; throws S3Error. */
export function planPayload(auth: PayloadAuth, headers: HeaderIndex, opts: PlanOptions = {}): PayloadPlan {
  const mode = auth.payload;
  const chunked = isChunked(mode);
  const decoded = nonNegativeInteger(
    headers.get("x-amz-decoded-content-length"),
    "x-amz-decoded-content-length",
  );
  const contentLength = nonNegativeInteger(headers.get("content-length"), "Content-Length");
  if (!chunked && decoded !== undefined)
    throw new S3Error(
      "InvalidRequest",
      "x-amz-decoded-content-length is only for aws-chunked bodies (x-amz-content-sha256 STREAMING-…).",
    );
  const trailerChecksums = trailerNames(headers, mode);
  const headerChecksum = checksumFromHeaders(headers);
  if (headerChecksum && trailerChecksums.length > 0)
    throw new S3Error(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header or trailer. Multiple checksum Types are not allowed.",
    );
  const compute = new Set<ChecksumAlgorithm>(opts.alsoCompute);
  for (const a of trailerChecksums) compute.add(a);
  if (headerChecksum) compute.add(headerChecksum.algorithm);
  const requested = requestedAlgorithm(headers);
  if (requested) compute.add(requested);
  if (mode.kind === "sha256") compute.add("sha256");
  const contentMd5 = contentMd5FromHeaders(headers);
  const length = chunked ? decoded : contentLength;
  return {
    mode,
    md5: opts.md5 !== false || contentMd5 !== undefined,
    ...(length !== undefined ? { length } : {}),
    trailerChecksums,
    ...(headerChecksum ? { headerChecksum } : {}),
    ...(contentMd5 ? { contentMd5 } : {}),
    compute: [...compute],
    auth,
  };
}

/** The Content-Encoding to store: aws-chunked only frames the upload and is not the object's. */
export function storedContentEncoding(headers: HeaderIndex): string | undefined {
  const v = headers.get("content-encoding");
  if (v === undefined) return undefined;
  const kept = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s.toLowerCase() !== "aws-chunked");
  return kept.length > 0 ? kept.join(", ") : undefined;
}

function mismatch(a: ChecksumAlgorithm): S3Error {
  return new S3Error(
    "BadDigest",
    `The ${CHECKSUM_NAMES[a]} you specified did not match the calculated checksum.`,
  );
}

/** Decodes and checks a request body; iterate `body()` once, then read `result`. */
export class PayloadDecoder {
  readonly #md5: Hasher | null;
  readonly #hashers = new Map<ChecksumAlgorithm, Hasher>();
  readonly #chunked: Decoder | null;
  #finished: PayloadResult | undefined;

  readonly #plan: PayloadPlan;

  constructor(plan: PayloadPlan) {
    this.#plan = plan;
    this.#md5 = plan.md5 ? createHasher("md5") : null;
    for (const a of plan.compute) this.#hashers.set(a, createHasher(a));
    const { mode, auth } = plan;
    if (!isChunked(mode)) {
      this.#chunked = null;
      return;
    }
    const signed = mode.kind === "streaming-signed";
    this.#chunked = new AwsChunkedDecoder({
      ...(signed
        ? {
            signing: {
              signingKey: auth.signingKey,
              amzDate: auth.amzDate,
              scope: auth.scope,
              seedSignature: auth.seedSignature,
            },
          }
        : {}),
      allowTrailers: hasTrailer(mode),
      signedTrailer: signed && mode.trailer,
      ...(plan.length !== undefined ? { maxDecodedLength: plan.length } : {}),
    });
  }

  /** Set once body() has ended without an error. */
  get result(): PayloadResult {
    if (!this.#finished) throw new Error("the payload has not been fully read and checked");
    return this.#finished;
  }

  #update(data: Buffer): void {
    this.#md5?.update(data);
    for (const h of this.#hashers.values()) h.update(data);
  }

  async *body(source: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
    let length = 0;
    const out: Buffer[] = [];
    const collect = (b: Buffer) => {
      out.push(b);
    };
    for await (const chunk of source) {
      if (this.#chunked) {
        this.#chunked.push(chunk, collect);
        for (const b of out) {
          this.#update(b);
          yield b;
        }
        out.length = 0;
      } else {
        length += chunk.length;
        if (this.#plan.length !== undefined && length > this.#plan.length)
          throw new S3Error("InvalidRequest", "The body is longer than its Content-Length.");
        this.#update(chunk);
        yield chunk;
      }
    }
    if (this.#chunked) {
      this.#chunked.end();
      length = this.#chunked.decodedBytes;
    }
    if (this.#plan.length !== undefined && length !== this.#plan.length)
      throw new S3Error(
        "IncompleteBody",
        `The body carried ${length} of the ${this.#plan.length} bytes declared.`,
      );
    this.#finished = await this.#check(length);
  }

  async #check(length: number): Promise<PayloadResult> {
    const checksums: Partial<Record<ChecksumAlgorithm, Buffer>> = {};
    for (const [a, h] of this.#hashers) checksums[a] = await h.digest();
    const md5 = this.#md5 ? await this.#md5.digest() : undefined;
    const { mode } = this.#plan;
    if (mode.kind === "sha256" && !mode.sha256.equals(checksums.sha256!))
      throw new S3Error("XAmzContentSHA256Mismatch");
    let declared: ChecksumAlgorithm | undefined;
    if (this.#plan.headerChecksum) {
      declared = this.#plan.headerChecksum.algorithm;
      if (!this.#plan.headerChecksum.value.equals(checksums[declared]!)) throw mismatch(declared);
    }
    const trailers = this.#chunked?.trailers ?? new Map<string, string>();
    for (const name of trailers.keys()) {
      const a = name.startsWith("x-amz-checksum-") ? name.slice(15) : "";
      if (!isChecksumAlgorithm(a) || !this.#plan.trailerChecksums.includes(a))
        throw new S3Error("MalformedTrailerError", `The trailer ${name} was not announced in x-amz-trailer.`);
    }
    for (const a of this.#plan.trailerChecksums) {
      const text = trailers.get(checksumHeader(a));
      if (text === undefined)
        throw new S3Error(
          "MalformedTrailerError",
          `The body has no ${checksumHeader(a)} trailer though x-amz-trailer announced it.`,
        );
      const value = decodeBase64Exact(text, CHECKSUM_BYTES[a]);
      if (!value)
        throw new S3Error("InvalidRequest", `Value for ${checksumHeader(a)} trailing header is invalid.`);
      if (!value.equals(checksums[a]!)) throw mismatch(a);
      declared = a;
    }
    if (this.#plan.contentMd5 && !this.#plan.contentMd5.equals(md5!))
      throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
    return { length, ...(md5 ? { md5 } : {}), checksums, ...(declared ? { declared } : {}) };
  }
}

/** Convenience: plan and decoder in one call. */
export function decodePayload(
  auth: PayloadAuth,
  headers: HeaderIndex,
  opts: PlanOptions = {},
): PayloadDecoder {
  return new PayloadDecoder(planPayload(auth, headers, opts));
}
