// The request bodies S3 operations take, checked against their shapes: CompleteMultipartUpload,
// Delete (multi-object delete), CreateBucketConfiguration and Tagging. Unknown child elements are
// ignored, as S3 does; missing or malformed required ones are MalformedXML.
import { CHECKSUM_NAMES, type ChecksumAlgorithm } from "./checksums.js";
import { S3Error } from "./errors.js";
import { parseXml, type XmlElement } from "./xml-read.js";

export const MAX_PARTS = 10_000;
export const MAX_DELETE_KEYS = 1000;
/** A CompleteMultipartUpload of 10,000 parts with SHA-256 checksums fits well within this. */
export const MAX_COMPLETE_BYTES = 4 << 20;
export const MAX_XML_BYTES = 1 << 20;

function malformed(why: string): S3Error {
  return new S3Error(
    "MalformedXML",
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}.`,
  );
}

function root(body: Buffer | string, name: string, maxBytes = MAX_XML_BYTES): XmlElement {
  const r = parseXml(body, { maxBytes });
  if (r.name !== name) throw malformed(`the root element must be <${name}>, not <${r.name}>`);
  return r;
}

function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

function optional(el: XmlElement, name: string): string | undefined {
  const found = children(el, name);
  if (found.length > 1) throw malformed(`<${el.name}> has more than one <${name}>`);
  return found[0]?.text;
}

function required(el: XmlElement, name: string): string {
  const v = optional(el, name);
  if (v === undefined) throw malformed(`<${el.name}> needs a <${name}>`);
  return v;
}

export interface CompletePart {
  partNumber: number;
  /** As sent, without surrounding quotes. */
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** The part list of CompleteMultipartUpload: 1 to 10,000 parts in strictly ascending order. */
export function parseCompleteMultipartUpload(body: Buffer | string): { parts: CompletePart[] } {
  const r = root(body, "CompleteMultipartUpload", MAX_COMPLETE_BYTES);
  const parts: CompletePart[] = [];
  for (const p of children(r, "Part")) {
    const n = required(p, "PartNumber").trim();
    if (!/^\d{1,5}$/.test(n) || Number(n) < 1 || Number(n) > MAX_PARTS)
      throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.");
    const etag = required(p, "ETag")
      .trim()
      .replace(/^"(.*)"$/, "$1");
    const checksums: CompletePart["checksums"] = {};
    for (const [a, name] of Object.entries(CHECKSUM_NAMES) as [ChecksumAlgorithm, string][]) {
      const v = optional(p, `Checksum${name}`);
      if (v !== undefined) checksums[a] = v.trim();
    }
    const partNumber = Number(n);
    if (parts.length > 0 && partNumber <= parts[parts.length - 1]!.partNumber)
      throw new S3Error("InvalidPartOrder");
    parts.push({ partNumber, etag, checksums });
  }
  if (parts.length === 0) throw malformed("CompleteMultipartUpload lists no <Part>");
  if (parts.length > MAX_PARTS) throw malformed(`more than ${MAX_PARTS} parts`);
  return { parts };
}

export interface DeleteRequest {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
}

/** Multi-object delete: up to 1,000 keys, kept exactly as sent (a key may start or end with spaces). */
export function parseDeleteObjects(body: Buffer | string): DeleteRequest {
  const r = root(body, "Delete");
  const quietText = optional(r, "Quiet")?.trim().toLowerCase();
  if (quietText !== undefined && quietText !== "true" && quietText !== "false")
    throw malformed("<Quiet> must be true or false");
  const objects = children(r, "Object").map((o) => {
    const versionId = optional(o, "VersionId")?.trim();
    return { key: required(o, "Key"), ...(versionId ? { versionId } : {}) };
  });
  if (objects.length === 0) throw malformed("Delete lists no <Object>");
  if (objects.length > MAX_DELETE_KEYS) throw malformed(`more than ${MAX_DELETE_KEYS} keys in one request`);
  return { quiet: quietText === "true", objects };
}

/** CreateBucket's optional body; an empty body is no configuration. */
export function parseCreateBucketConfiguration(body: Buffer | string): { locationConstraint?: string } {
  if (body.toString().trim() === "") return {};
  const r = root(body, "CreateBucketConfiguration");
  const lc = optional(r, "LocationConstraint")?.trim();
  return lc ? { locationConstraint: lc } : {};
}

/** PutObjectTagging / PutBucketTagging. */
export function parseTagging(body: Buffer | string): { tags: { key: string; value: string }[] } {
  const r = root(body, "Tagging");
  const sets = children(r, "TagSet");
  if (sets.length !== 1) throw malformed("Tagging needs exactly one <TagSet>");
  const tags = children(sets[0]!, "Tag").map((t) => ({
    key: required(t, "Key"),
    value: optional(t, "Value") ?? "",
  }));
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.key))
      throw new S3Error("InvalidArgument", "Cannot provide multiple Tags with the same key");
    seen.add(t.key);
  }
  return { tags };
}

/** Collects a request body up to `maxBytes`; more is MaxMessageLengthExceeded, none (unless allowed) MissingRequestBodyError. */
export async function readBoundedBody(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  maxBytes = MAX_XML_BYTES,
  allowEmpty = false,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const b of source) {
    n += b.length;
    if (n > maxBytes) throw new S3Error("MaxMessageLengthExceeded");
    parts.push(b);
  }
  if (n === 0 && !allowEmpty) throw new S3Error("MissingRequestBodyError");
  return Buffer.concat(parts);
}
