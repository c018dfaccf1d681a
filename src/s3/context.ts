// One S3 request as the operations see it: who is calling (verified), what it addresses, its query
// and headers (a presigned URL's signed x-amz-* parameters included), and where the answer goes.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Scope, UserRecord } from "../store/records.js";
import type { S3Address } from "./addressing.js";
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";
import type { VerifiedRequest } from "./sigv4.js";

/** The caller of an S3 request: the owner of an access key, with that key's scopes. */
export interface S3Caller {
  user: UserRecord;
  accessKeyId: string;
  scopes: Scope[];
}

/** What the signature check needs of an access key, and whose it is. */
export interface S3Key {
  secret: Buffer | string;
  caller: S3Caller;
}

/** What an operation learned for its audit events (audited-ops.ts), filled in as it goes. */
export interface S3AuditNote {
  /** The KEK version of the object written or read. */
  keyVersion?: number;
  /** The object id (`bucket/key`) a copy read from. */
  source?: string;
  /** DeleteObjects: each object it was asked to delete, with the status of that object's result. */
  objects?: { id: string; status: number }[];
  /**
   * Set by the audit log for a read of a copy source (UploadPartCopy): called once the source is
   * known and before a byte of it is read; records the read's intent, and throws (503) when a
   * required log cannot take it, so nothing is copied that the log does not name.
   */
  beforeSourceRead?: () => Promise<void>;
}

export interface S3Context {
  req: FastifyRequest;
  reply: FastifyReply;
  requestId: string;
  method: string;
  address: S3Address;
  /** Decoded query parameters; a name given without a value maps to "". */
  query: ReadonlyMap<string, string>;
  headers: HeaderIndex;
  verified: VerifiedRequest<S3Key>;
  caller: S3Caller;
  /** The caller's namespace: the owner uid objects are stored under. */
  owner: string;
  audit: S3AuditNote;
}

/** Refuses a request whose access key lacks a scope (read: GET and HEAD; write: everything else). */
export function requireScope(ctx: S3Context, scope: Scope): void {
  if (!ctx.caller.scopes.includes(scope))
    throw new S3Error("AccessDenied", `This access key lacks the ${scope} scope.`);
}

/** The bucket the request names, or NoSuchBucket-style refusal when it names none. */
export function bucketOf(ctx: S3Context): string {
  const b = ctx.address.bucket;
  if (b === null) throw new S3Error("MethodNotAllowed", "This operation needs a bucket.");
  return b;
}

/** The key the request names. */
export function keyOf(ctx: S3Context): string {
  const k = ctx.address.key;
  if (k === null) throw new S3Error("InvalidRequest", "This operation needs an object key.");
  return k;
}
