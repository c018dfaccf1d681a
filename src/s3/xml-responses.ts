// The XML documents S3 operations answer with, from plain data. Element names and order follow the
// S3 API reference, which SDK parsers (and older, stricter ones such as s3cmd's) depend on.
import type { ChecksumAlgorithm } from "./checksums.js";
import { type Owner, writeOwner, XmlWriter } from "./xml-write.js";

type Checksums = Partial<Record<ChecksumAlgorithm, Buffer | string>>;

export interface BucketEntry {
  name: string;
  creationDate: Date;
}

export function listBucketsXml(r: {
  owner: Owner;
  buckets: readonly BucketEntry[];
  region?: string;
}): string {
  const x = new XmlWriter().open("ListAllMyBucketsResult", true);
  writeOwner(x, "Owner", r.owner);
  x.open("Buckets");
  for (const b of r.buckets)
    x.open("Bucket")
      .leaf("Name", b.name)
      .leaf("CreationDate", b.creationDate)
      .leaf("BucketRegion", r.region)
      .close("Bucket");
  return x.close("Buckets").close("ListAllMyBucketsResult").toString();
}

export interface ObjectEntry {
  key: string;
  lastModified: Date;
  /** Quoted, as in the ETag header. */
  etag: string;
  size: number;
  storageClass?: string;
  /** Present when the listing asked for owners (fetch-owner=true, or always in v1). */
  owner?: Owner;
  checksumAlgorithm?: ChecksumAlgorithm;
}

interface ListCommon {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  maxKeys: number;
  isTruncated: boolean;
  /** "url" when the request asked for encoding-type=url. */
  encodingType?: "url";
  contents: readonly ObjectEntry[];
  commonPrefixes: readonly string[];
}

function writeEntries(x: XmlWriter, r: ListCommon, url: boolean): void {
  for (const o of r.contents) {
    x.open("Contents")
      .name("Key", o.key, url)
      .leaf("LastModified", o.lastModified)
      .leaf("ETag", o.etag)
      .leaf("Size", o.size);
    writeOwner(x, "Owner", o.owner);
    if (o.checksumAlgorithm) x.leaf("ChecksumAlgorithm", o.checksumAlgorithm.toUpperCase());
    x.leaf("StorageClass", o.storageClass ?? "STANDARD").close("Contents");
  }
  for (const p of r.commonPrefixes) x.open("CommonPrefixes").name("Prefix", p, url).close("CommonPrefixes");
}

export interface ListV2 extends ListCommon {
  continuationToken?: string;
  nextContinuationToken?: string;
  startAfter?: string;
}

export function listObjectsV2Xml(r: ListV2): string {
  const url = r.encodingType === "url";
  const x = new XmlWriter()
    .open("ListBucketResult", true)
    .leaf("Name", r.bucket)
    .name("Prefix", r.prefix ?? "", url)
    .name("Delimiter", r.delimiter, url)
    .leaf("MaxKeys", r.maxKeys)
    .leaf("KeyCount", r.contents.length + r.commonPrefixes.length)
    .leaf("IsTruncated", r.isTruncated)
    .leaf("EncodingType", r.encodingType)
    .leaf("ContinuationToken", r.continuationToken)
    .leaf("NextContinuationToken", r.nextContinuationToken)
    .name("StartAfter", r.startAfter, url);
  writeEntries(x, r, url);
  return x.close("ListBucketResult").toString();
}

export interface ListV1 extends ListCommon {
  marker?: string;
  /** Only with a delimiter, as S3 does; clients without one continue from the last key. */
  nextMarker?: string;
}

export function listObjectsV1Xml(r: ListV1): string {
  const url = r.encodingType === "url";
  const x = new XmlWriter()
    .open("ListBucketResult", true)
    .leaf("Name", r.bucket)
    .name("Prefix", r.prefix ?? "", url)
    .name("Marker", r.marker ?? "", url)
    .name("NextMarker", r.nextMarker, url)
    .leaf("MaxKeys", r.maxKeys)
    .name("Delimiter", r.delimiter, url)
    .leaf("IsTruncated", r.isTruncated)
    .leaf("EncodingType", r.encodingType);
  writeEntries(x, r, url);
  return x.close("ListBucketResult").toString();
}

export function initiateMultipartUploadXml(r: { bucket: string; key: string; uploadId: string }): string {
  return new XmlWriter()
    .open("InitiateMultipartUploadResult", true)
    .leaf("Bucket", r.bucket)
    .leaf("Key", r.key)
    .leaf("UploadId", r.uploadId)
    .close("InitiateMultipartUploadResult")
    .toString();
}

export function completeMultipartUploadXml(r: {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  checksums?: Checksums;
  checksumType?: "COMPOSITE" | "FULL_OBJECT";
}): string {
  return new XmlWriter()
    .open("CompleteMultipartUploadResult", true)
    .leaf("Location", r.location)
    .leaf("Bucket", r.bucket)
    .leaf("Key", r.key)
    .leaf("ETag", r.etag)
    .checksums(r.checksums)
    .leaf("ChecksumType", r.checksumType)
    .close("CompleteMultipartUploadResult")
    .toString();
}

export interface PartEntry {
  partNumber: number;
  lastModified: Date;
  etag: string;
  size: number;
  checksums?: Checksums;
}

export function listPartsXml(r: {
  bucket: string;
  key: string;
  uploadId: string;
  partNumberMarker: number;
  nextPartNumberMarker?: number;
  maxParts: number;
  isTruncated: boolean;
  owner: Owner;
  storageClass?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  parts: readonly PartEntry[];
}): string {
  const x = new XmlWriter()
    .open("ListPartsResult", true)
    .leaf("Bucket", r.bucket)
    .leaf("Key", r.key)
    .leaf("UploadId", r.uploadId);
  writeOwner(x, "Initiator", r.owner);
  writeOwner(x, "Owner", r.owner);
  x.leaf("StorageClass", r.storageClass ?? "STANDARD")
    .leaf("PartNumberMarker", r.partNumberMarker)
    .leaf("NextPartNumberMarker", r.nextPartNumberMarker)
    .leaf("MaxParts", r.maxParts)
    .leaf("IsTruncated", r.isTruncated);
  if (r.checksumAlgorithm) x.leaf("ChecksumAlgorithm", r.checksumAlgorithm.toUpperCase());
  for (const p of r.parts)
    x.open("Part")
      .leaf("PartNumber", p.partNumber)
      .leaf("LastModified", p.lastModified)
      .leaf("ETag", p.etag)
      .leaf("Size", p.size)
      .checksums(p.checksums)
      .close("Part");
  return x.close("ListPartsResult").toString();
}

export interface UploadEntry {
  key: string;
  uploadId: string;
  initiated: Date;
  owner: Owner;
  storageClass?: string;
}

export function listMultipartUploadsXml(r: {
  bucket: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  prefix?: string;
  delimiter?: string;
  maxUploads: number;
  isTruncated: boolean;
  encodingType?: "url";
  uploads: readonly UploadEntry[];
  commonPrefixes: readonly string[];
}): string {
  const url = r.encodingType === "url";
  const x = new XmlWriter()
    .open("ListMultipartUploadsResult", true)
    .leaf("Bucket", r.bucket)
    .name("KeyMarker", r.keyMarker ?? "", url)
    .leaf("UploadIdMarker", r.uploadIdMarker ?? "")
    .name("NextKeyMarker", r.nextKeyMarker, url)
    .leaf("NextUploadIdMarker", r.nextUploadIdMarker)
    .name("Prefix", r.prefix, url)
    .name("Delimiter", r.delimiter, url)
    .leaf("MaxUploads", r.maxUploads)
    .leaf("IsTruncated", r.isTruncated)
    .leaf("EncodingType", r.encodingType);
  for (const u of r.uploads) {
    x.open("Upload").name("Key", u.key, url).leaf("UploadId", u.uploadId);
    writeOwner(x, "Initiator", u.owner);
    writeOwner(x, "Owner", u.owner);
    x.leaf("StorageClass", u.storageClass ?? "STANDARD")
      .leaf("Initiated", u.initiated)
      .close("Upload");
  }
  for (const p of r.commonPrefixes) x.open("CommonPrefixes").name("Prefix", p, url).close("CommonPrefixes");
  return x.close("ListMultipartUploadsResult").toString();
}

function copyResult(root: string, r: { etag: string; lastModified: Date; checksums?: Checksums }): string {
  return new XmlWriter()
    .open(root, true)
    .leaf("ETag", r.etag)
    .leaf("LastModified", r.lastModified)
    .checksums(r.checksums)
    .close(root)
    .toString();
}

export function copyObjectXml(r: { etag: string; lastModified: Date; checksums?: Checksums }): string {
  return copyResult("CopyObjectResult", r);
}

export function copyPartXml(r: { etag: string; lastModified: Date; checksums?: Checksums }): string {
  return copyResult("CopyPartResult", r);
}

export function deleteResultXml(r: {
  /** Empty in Quiet mode: S3 then lists only the errors. */
  deleted: readonly { key: string; versionId?: string }[];
  errors: readonly { key: string; code: string; message: string; versionId?: string }[];
}): string {
  const x = new XmlWriter().open("DeleteResult", true);
  for (const d of r.deleted)
    x.open("Deleted").leaf("Key", d.key).leaf("VersionId", d.versionId).close("Deleted");
  for (const e of r.errors)
    x.open("Error")
      .leaf("Key", e.key)
      .leaf("VersionId", e.versionId)
      .leaf("Code", e.code)
      .leaf("Message", e.message)
      .close("Error");
  return x.close("DeleteResult").toString();
}

/** us-east-1 is an empty LocationConstraint, as S3 answers for its original region. */
export function locationConstraintXml(region: string): string {
  if (region === "us-east-1") return new XmlWriter().empty("LocationConstraint", true).toString();
  return new XmlWriter().open("LocationConstraint", true).text(region).close("LocationConstraint").toString();
}

/** Versioning that was never enabled: an empty configuration. */
export function versioningConfigurationXml(): string {
  return new XmlWriter().empty("VersioningConfiguration", true).toString();
}

export function taggingXml(tags: readonly { key: string; value: string }[] = []): string {
  const x = new XmlWriter().open("Tagging", true).open("TagSet");
  for (const t of tags) x.open("Tag").leaf("Key", t.key).leaf("Value", t.value).close("Tag");
  return x.close("TagSet").close("Tagging").toString();
}
