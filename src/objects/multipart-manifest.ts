// The parts of a multipart object: which uploaded parts a CompleteMultipartUpload may join (S3's
// rules), the manifest sealed into the object (docs/FORMAT.md, "Multipart objects"), its ETag, and
// which parts a byte range touches.
import { createHash } from "node:crypto";
import { MAX_PART_NUMBER } from "../crypto/segment-format.js";
import { AppError, IntegrityError } from "../errors.js";

/** S3's smallest part, except the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export { MAX_PART_NUMBER };

/** One uploaded part, as the store keeps it (the latest upload of that number). */
export interface UploadedPart {
  number: number;
  writeId: Buffer;
  size: number;
  /** The part's MD5, hex (its S3 ETag without quotes). */
  md5: string;
}

/** A part as the manifest lists it. */
export interface ManifestPart {
  /** Part number. */
  n: number;
  /** Part write id, hex. */
  w: string;
  size: number;
  md5: string;
}

export interface Manifest {
  v: 1;
  parts: ManifestPart[];
}

/** What CompleteMultipartUpload names: a part number and the ETag the client got for it. */
export interface RequestedPart {
  number: number;
  etag: string;
}

const unquote = (etag: string) =>
  etag
    .trim()
    .replace(/^"(.*)"$/, "$1")
    .toLowerCase();

/**
 * The manifest of the parts `requested`, checked as S3 checks them: at least one part, numbers
 * ascending without repeats (invalid_part_order), each uploaded with that ETag (invalid_part), every
 * part but the last at least MIN_PART_BYTES (entity_too_small).
 */
export function manifestOf(
  requested: readonly RequestedPart[],
  uploaded: ReadonlyMap<number, UploadedPart>,
): Manifest {
  if (requested.length === 0) throw new AppError("invalid_part", "the upload must name at least one part");
  const found: UploadedPart[] = [];
  let previous = 0;
  // Every named part must exist as named before sizes matter (InvalidPart before EntityTooSmall).
  for (const r of requested) {
    if (!Number.isInteger(r.number) || r.number < 1 || r.number > MAX_PART_NUMBER)
      throw new AppError("invalid_part", `part number ${r.number} is not between 1 and ${MAX_PART_NUMBER}`);
    if (r.number <= previous)
      throw new AppError("invalid_part_order", "the parts must be listed in ascending order, each once");
    previous = r.number;
    const up = uploaded.get(r.number);
    if (!up || unquote(r.etag) !== up.md5)
      throw new AppError("invalid_part", `part ${r.number} was not uploaded with that ETag`);
    found.push(up);
  }
  found.forEach((up, i) => {
    if (i < found.length - 1 && up.size < MIN_PART_BYTES)
      throw new AppError("entity_too_small", `part ${up.number} is smaller than ${MIN_PART_BYTES} bytes`);
  });
  const parts = found.map((up) => ({
    n: up.number,
    w: up.writeId.toString("hex"),
    size: up.size,
    md5: up.md5,
  }));
  return { v: 1, parts };
}

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, a dash and the part count. */
export function multipartEtag(parts: readonly { md5: string }[]): string {
  const h = createHash("md5");
  for (const p of parts) h.update(Buffer.from(p.md5, "hex"));
  return `${h.digest("hex")}-${parts.length}`;
}

export function manifestSize(m: Manifest): number {
  return m.parts.reduce((n, p) => n + p.size, 0);
}

/**
 * A manifest opened from storage: authenticated, so any inconsistency is damage, never a client's
 * doing. `size` is the object's size in clear, which must agree.
 */
export function checkManifest(value: unknown, size: number): Manifest {
  const m = value as Manifest;
  const ok =
    m !== null &&
    typeof m === "object" &&
    m.v === 1 &&
    Array.isArray(m.parts) &&
    m.parts.length > 0 &&
    m.parts.every(
      (p, i) =>
        Number.isInteger(p.n) &&
        p.n >= 1 &&
        p.n <= MAX_PART_NUMBER &&
        (i === 0 || p.n > m.parts[i - 1]!.n) &&
        typeof p.w === "string" &&
        /^[0-9a-f]{32}$/.test(p.w) &&
        Number.isSafeInteger(p.size) &&
        p.size >= 0 &&
        typeof p.md5 === "string",
    );
  if (!ok) throw new IntegrityError("the multipart manifest is malformed");
  if (manifestSize(m) !== size)
    throw new IntegrityError("the multipart manifest does not match the object's size");
  return m;
}

/** The slice of one part that a range covers: byte offsets within the part, inclusive. */
export interface PartSlice {
  part: ManifestPart;
  start: number;
  end: number;
}

/** The parts that bytes [start, end] (inclusive) of the object fall in, in order. */
export function partsForRange(m: Manifest, start: number, end: number): PartSlice[] {
  const out: PartSlice[] = [];
  let offset = 0;
  for (const part of m.parts) {
    const first = offset;
    const last = offset + part.size - 1;
    offset += part.size;
    if (part.size === 0 || last < start) continue;
    if (first > end) break;
    out.push({ part, start: Math.max(start, first) - first, end: Math.min(end, last) - first });
  }
  return out;
}
