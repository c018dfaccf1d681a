// What several operations share: the object id of bucket + key, the bucket's existence, S3's
// conditional writes, and XML answers.
import { AppError } from "../../errors.js";
import { MAX_ID_BYTES, validateObjectId } from "../../objects/object-id.js";
import type { WriteCondition } from "../../store/object-store.js";
import type { ObjectMeta } from "../../store/records.js";
import { bucketOf, keyOf, type S3Context } from "../context.js";
import { S3Error } from "../errors.js";
import { s3Etag, writeConditionOf } from "../object-headers.js";
import { PayloadDecoder, planPayload } from "../payload.js";
import { readBoundedBody } from "../xml-requests.js";
import type { S3Domain } from "./domain.js";

/** The native object id of an S3 key: `bucket/key`, within the id rules (1024 bytes in all). */
export function objectIdOf(bucket: string, key: string): string {
  const id = `${bucket}/${key}`;
  if (Buffer.byteLength(id, "utf8") > MAX_ID_BYTES)
    throw new S3Error(
      "KeyTooLongError",
      `A key may be at most ${MAX_ID_BYTES - Buffer.byteLength(bucket) - 1} bytes in this bucket (${MAX_ID_BYTES} with the bucket name).`,
    );
  try {
    validateObjectId(id);
  } catch (err) {
    if (err instanceof AppError) throw new S3Error("InvalidObjectName", err.detail);
    throw err;
  }
  return id;
}

export async function requireBucket(ctx: S3Context, d: S3Domain, bucket: string): Promise<void> {
  if (!(await d.buckets.exists(ctx.owner, bucket))) throw new S3Error("NoSuchBucket");
}

export interface ResolvedObject {
  id: string;
  meta: ObjectMeta;
}

/**
 * The object the request names. With `mustExist`, its metadata (NoSuchKey, or NoSuchBucket when
 * the bucket is missing too); without, only the bucket must exist (a write).
 */
export async function resolveObject(
  ctx: S3Context,
  d: S3Domain,
  opts: { mustExist: true; forRead?: boolean },
): Promise<ResolvedObject>;
export async function resolveObject(
  ctx: S3Context,
  d: S3Domain,
  opts: { mustExist: false },
): Promise<{ id: string }>;
export async function resolveObject(
  ctx: S3Context,
  d: S3Domain,
  opts: { mustExist: boolean; forRead?: boolean },
): Promise<{ id: string; meta?: ObjectMeta }> {
  const bucket = bucketOf(ctx);
  const id = objectIdOf(bucket, keyOf(ctx));
  if (!opts.mustExist) {
    await requireBucket(ctx, d, bucket);
    return { id };
  }
  const meta = opts.forRead
    ? await d.objects.findForRead(ctx.owner, id)
    : await d.objects.find(ctx.owner, id);
  if (meta && meta.kind !== "item") return { id, meta };
  await requireBucket(ctx, d, bucket);
  throw new S3Error("NoSuchKey");
}

/**
 * S3's conditional write (`If-None-Match: *`, `If-Match: "etag"`) as the store's atomic condition:
 * an S3 ETag is checked against the current object here, and the commit then requires that very
 * write (its native ETag is unique per write), so nothing can slip in between.
 */
export async function writeConditionFor(ctx: S3Context, d: S3Domain, id: string): Promise<WriteCondition> {
  const want = writeConditionOf(ctx.headers);
  const cond: WriteCondition = {};
  if (want.ifNoneMatch) cond.ifNoneMatch = true;
  if (want.ifMatch) {
    const cur = await d.objects.find(ctx.owner, id);
    if (!cur) throw new S3Error("NoSuchKey");
    const etag = s3Etag(cur, await d.objects.metadataOf(cur));
    const bare = etag.replace(/^"(.*)"$/, "$1");
    const ok = want.ifMatch.some((e) => e === "*" || e.replace(/^"(.*)"$/, "$1") === bare);
    if (!ok) throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Match" });
    cond.ifMatch = [cur.etag];
  }
  return cond;
}

export function sendXml(ctx: S3Context, xml: string, status = 200): unknown {
  return ctx.reply.code(status).type("application/xml").send(xml);
}

/**
 * A small request body (XML), read through the same checks as an object's: its signed SHA-256,
 * signed chunks, checksums and Content-MD5 all hold before a byte of it is used.
 */
export async function readVerifiedBody(
  ctx: S3Context,
  maxBytes: number,
  allowEmpty = false,
): Promise<Buffer> {
  const decoder = new PayloadDecoder(planPayload(ctx.verified, ctx.headers, { md5: false }));
  return readBoundedBody(decoder.body(ctx.req.raw), maxBytes, allowEmpty);
}
