// Which S3 operation a request is: by method, by whether it names a bucket and a key, and by its
// sub-resource query parameters (?uploads, ?uploadId, ?list-type, ?location…), as S3 routes them.
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { refuseUnsupportedHeaders } from "./unsupported-headers.js";

export type S3Handler = (ctx: S3Context) => Promise<unknown>;

export interface S3Operations {
  listBuckets: S3Handler;
  createBucket: S3Handler;
  headBucket: S3Handler;
  deleteBucket: S3Handler;
  getBucketLocation: S3Handler;
  getBucketVersioning: S3Handler;
  getBucketEncryption: S3Handler;
  listObjectsV1: S3Handler;
  listObjectsV2: S3Handler;
  listMultipartUploads: S3Handler;
  deleteObjects: S3Handler;
  putObject: S3Handler;
  copyObject: S3Handler;
  getObject: S3Handler;
  headObject: S3Handler;
  deleteObject: S3Handler;
  getObjectTagging: S3Handler;
  putObjectTagging: S3Handler;
  deleteObjectTagging: S3Handler;
  createMultipartUpload: S3Handler;
  uploadPart: S3Handler;
  uploadPartCopy: S3Handler;
  completeMultipartUpload: S3Handler;
  abortMultipartUpload: S3Handler;
  listParts: S3Handler;
}

/** Sub-resources S3 has that this server does not implement: a clear NotImplemented, never a guess. */
const UNSUPPORTED = [
  "acl",
  "policy",
  "policyStatus",
  "cors",
  "lifecycle",
  "replication",
  "website",
  "logging",
  "notification",
  "requestPayment",
  "accelerate",
  "analytics",
  "inventory",
  "metrics",
  "intelligent-tiering",
  "ownershipControls",
  "publicAccessBlock",
  "object-lock",
  "legal-hold",
  "retention",
  "restore",
  "select",
  "torrent",
  "attributes",
  "versionId",
  "versions",
  "rename",
];

function notImplemented(what: string): never {
  throw new S3Error("NotImplemented", `SSE Store does not implement ${what}.`);
}

export function route(ctx: S3Context, ops: S3Operations): Promise<unknown> {
  const { method, query } = ctx;
  const has = (name: string) => query.has(name);
  const unsupported = UNSUPPORTED.find(has);
  // A versioned request names a version; this server keeps none (GetBucketVersioning says so).
  if (unsupported === "versionId" && (query.get("versionId") === "null" || query.get("versionId") === "")) {
    // "null" is the version id S3 gives objects in an unversioned bucket: the object itself.
  } else if (unsupported) notImplemented(`the ?${unsupported} sub-resource`);
  refuseUnsupportedHeaders(method, ctx.headers);

  const { bucket, key } = ctx.address;
  if (bucket === null) {
    if (method === "GET") return ops.listBuckets(ctx);
    throw new S3Error("MethodNotAllowed", undefined, {}, { Allow: "GET" });
  }
  if (key === null) {
    switch (method) {
      case "GET":
        if (has("location")) return ops.getBucketLocation(ctx);
        if (has("versioning")) return ops.getBucketVersioning(ctx);
        if (has("encryption")) return ops.getBucketEncryption(ctx);
        if (has("uploads")) return ops.listMultipartUploads(ctx);
        if (has("tagging")) throw new S3Error("NoSuchTagSet");
        if (query.get("list-type") === "2") return ops.listObjectsV2(ctx);
        return ops.listObjectsV1(ctx);
      case "HEAD":
        return ops.headBucket(ctx);
      case "PUT":
        if (has("versioning") || has("tagging") || has("encryption"))
          notImplemented("changing a bucket's configuration");
        return ops.createBucket(ctx);
      case "DELETE":
        if (has("tagging") || has("encryption")) notImplemented("changing a bucket's configuration");
        return ops.deleteBucket(ctx);
      case "POST":
        if (has("delete")) return ops.deleteObjects(ctx);
        break;
    }
    throw new S3Error("MethodNotAllowed", undefined, {}, { Allow: "GET, HEAD, PUT, DELETE, POST" });
  }
  switch (method) {
    case "GET":
      if (has("uploadId")) return ops.listParts(ctx);
      if (has("tagging")) return ops.getObjectTagging(ctx);
      return ops.getObject(ctx);
    case "HEAD":
      return ops.headObject(ctx);
    case "PUT":
      if (has("tagging")) return ops.putObjectTagging(ctx);
      if (has("uploadId") || has("partNumber")) {
        if (ctx.headers.has("x-amz-copy-source")) return ops.uploadPartCopy(ctx);
        return ops.uploadPart(ctx);
      }
      if (ctx.headers.has("x-amz-copy-source")) return ops.copyObject(ctx);
      return ops.putObject(ctx);
    case "DELETE":
      if (has("uploadId")) return ops.abortMultipartUpload(ctx);
      if (has("tagging")) return ops.deleteObjectTagging(ctx);
      return ops.deleteObject(ctx);
    case "POST":
      if (has("uploads")) return ops.createMultipartUpload(ctx);
      if (has("uploadId")) return ops.completeMultipartUpload(ctx);
      break;
  }
  throw new S3Error("MethodNotAllowed", undefined, {}, { Allow: "GET, HEAD, PUT, DELETE, POST" });
}
