// The checksums S3 clients send (x-amz-checksum-*, as a header or a trailer) and Content-MD5: one
// incremental hasher per algorithm, and strict parsing of the values clients claim.
import { createHash, type Hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";
import { crc32cUpdate } from "./crc32c.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";

export const CHECKSUM_ALGORITHMS = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

/** How S3 spells the algorithm in x-amz-sdk-checksum-algorithm and in XML (ChecksumCRC32…). */
export const CHECKSUM_NAMES: Record<ChecksumAlgorithm, string> = {
  crc32: "CRC32",
  crc32c: "CRC32C",
  crc64nvme: "CRC64NVME",
  sha1: "SHA1",
  sha256: "SHA256",
};

export function checksumHeader(a: ChecksumAlgorithm): string {
  return `x-amz-checksum-${a}`;
}

export function isChecksumAlgorithm(s: string): s is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(s);
}

export interface Hasher {
  update(data: Uint8Array): void;
  /** Async because the CRC64-NVME library's is; the others answer at once. */
  digest(): Buffer | Promise<Buffer>;
}

class Crc32Hasher implements Hasher {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = crc32(data, this.#crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#crc >>> 0);
    return out;
  }
}

class Crc32cHasher implements Hasher {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = crc32cUpdate(this.#crc, data);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#crc);
    return out;
  }
}

class Crc64NvmeHasher implements Hasher {
  readonly #crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.#crc.update(data);
  }
  async digest(): Promise<Buffer> {
    return Buffer.from(await this.#crc.digest());
  }
}

class NodeHasher implements Hasher {
  readonly #h: Hash;
  constructor(algorithm: string) {
    this.#h = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.#h.update(data);
  }
  digest(): Buffer {
    return this.#h.digest();
  }
}

export function createHasher(a: ChecksumAlgorithm | "md5"): Hasher {
  switch (a) {
    case "crc32":
      return new Crc32Hasher();
    case "crc32c":
      return new Crc32cHasher();
    case "crc64nvme":
      return new Crc64NvmeHasher();
    default:
      return new NodeHasher(a);
  }
}

/** Strict base64 of exactly `bytes` bytes (S3 checksums are canonical padded base64). */
export function decodeBase64Exact(value: string, bytes: number): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return null;
  const b = Buffer.from(value, "base64");
  return b.length === bytes && b.toString("base64") === value ? b : null;
}

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  value: Buffer;
}

const NOT_CHECKSUMS = new Set(["x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"]);

/** The x-amz-checksum-* header a request carries, if any; at most one is allowed, as in S3. */
export function checksumFromHeaders(headers: HeaderIndex): ExpectedChecksum | undefined {
  let found: ExpectedChecksum | undefined;
  for (const a of CHECKSUM_ALGORITHMS) {
    const v = headers.get(checksumHeader(a));
    if (v === undefined) continue;
    if (found)
      throw new S3Error(
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
      );
    const value = decodeBase64Exact(v, CHECKSUM_BYTES[a]);
    if (!value) throw new S3Error("InvalidRequest", `Value for ${checksumHeader(a)} header is invalid.`);
    found = { algorithm: a, value };
  }
  // A checksum we cannot check is refused, never ignored (x-amz-checksum-mode/-type are not checksums).
  for (const name of headers.names())
    if (
      name.startsWith("x-amz-checksum-") &&
      !NOT_CHECKSUMS.has(name) &&
      !isChecksumAlgorithm(name.slice(15))
    )
      throw new S3Error(
        "InvalidRequest",
        `The checksum header ${name} names an algorithm we do not support.`,
      );
  return found;
}

/** Content-MD5: base64 of 16 bytes, else InvalidDigest. */
export function contentMd5FromHeaders(headers: HeaderIndex): Buffer | undefined {
  const v = headers.get("content-md5");
  if (v === undefined) return undefined;
  const b = decodeBase64Exact(v, 16);
  if (!b) throw new S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.");
  return b;
}

/** x-amz-sdk-checksum-algorithm (CRC32, SHA256…), the algorithm the client asks S3 to record. */
export function requestedAlgorithm(headers: HeaderIndex): ChecksumAlgorithm | undefined {
  const v = headers.get("x-amz-sdk-checksum-algorithm");
  if (v === undefined) return undefined;
  const a = v.toLowerCase();
  if (!isChecksumAlgorithm(a))
    throw new S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
  return a;
}
