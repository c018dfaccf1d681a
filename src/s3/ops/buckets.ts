// Buckets (top-level folders of the caller's namespace) and the listings of their objects:
// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation/Versioning/Encryption,
// ListObjects v1 and v2, and DeleteObjects.
import { AppError } from "../../errors.js";
import { isValidBucketName } from "../bucket-name.js";
import { bucketOf, requireScope, type S3Context } from "../context.js";
import { toS3Error } from "../error-map.js";
import { S3Error } from "../errors.js";
import { s3Etag } from "../object-headers.js";
import { MAX_XML_BYTES, parseCreateBucketConfiguration, parseDeleteObjects } from "../xml-requests.js";
import {
  deleteResultXml,
  listBucketsXml,
  listObjectsV1Xml,
  listObjectsV2Xml,
  locationConstraintXml,
  type ObjectEntry,
  versioningConfigurationXml,
} from "../xml-responses.js";
import { type Owner, XmlWriter } from "../xml-write.js";
import type { S3Domain } from "./domain.js";
import { objectIdOf, readVerifiedBody, requireBucket, sendXml } from "./shared.js";

const MAX_KEYS = 1000;

function ownerOf(ctx: S3Context): Owner {
  return { id: ctx.caller.user.uid, displayName: ctx.caller.user.name };
}

function maxKeysOf(v: string | undefined, name = "max-keys"): number {
  if (v === undefined) return MAX_KEYS;
  if (!/^\d{1,9}$/.test(v)) throw new S3Error("InvalidArgument", `${name} must be a non-negative integer.`);
  return Math.min(MAX_KEYS, Number(v));
}

function encodingOf(ctx: S3Context): "url" | undefined {
  const e = ctx.query.get("encoding-type");
  if (e === undefined) return undefined;
  if (e.toLowerCase() !== "url")
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  return "url";
}

export function bucketOps(d: S3Domain) {
  const { buckets, objects } = d;

  async function listBuckets(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    const list = await buckets.list(ctx.owner);
    return sendXml(
      ctx,
      listBucketsXml({
        owner: ownerOf(ctx),
        buckets: list.map((b) => ({ name: b.name, creationDate: b.created })),
        region: d.region,
      }),
    );
  }

  async function createBucket(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const name = bucketOf(ctx);
    if (!isValidBucketName(name)) throw new S3Error("InvalidBucketName");
    const body = await readVerifiedBody(ctx, MAX_XML_BYTES, true);
    // Any region is accepted: this server is in every region the client likes.
    if (body.length > 0) parseCreateBucketConfiguration(body);
    try {
      await buckets.create(ctx.owner, name);
    } catch (err) {
      if (err instanceof AppError && err.code === "bucket_exists")
        throw new S3Error("BucketAlreadyOwnedByYou");
      throw err;
    }
    ctx.reply.header("Location", `/${name}`);
    return ctx.reply.code(200).send();
  }

  async function headBucket(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    await requireBucket(ctx, d, bucketOf(ctx));
    ctx.reply.header("x-amz-bucket-region", d.region);
    return ctx.reply.code(200).send();
  }

  async function deleteBucket(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    try {
      await buckets.delete(ctx.owner, bucketOf(ctx));
    } catch (err) {
      if (err instanceof AppError && err.code === "bucket_not_empty") throw new S3Error("BucketNotEmpty");
      throw toS3Error(err, "NoSuchBucket") ?? err;
    }
    return ctx.reply.code(204).send();
  }

  async function getBucketLocation(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    await requireBucket(ctx, d, bucketOf(ctx));
    return sendXml(ctx, locationConstraintXml(d.region));
  }

  async function getBucketVersioning(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    await requireBucket(ctx, d, bucketOf(ctx));
    return sendXml(ctx, versioningConfigurationXml());
  }

  /** Every object is encrypted at rest, whatever the request says: S3's default encryption, SSE-S3. */
  async function getBucketEncryption(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    await requireBucket(ctx, d, bucketOf(ctx));
    const x = new XmlWriter()
      .open("ServerSideEncryptionConfiguration", true)
      .open("Rule")
      .open("ApplyServerSideEncryptionByDefault")
      .leaf("SSEAlgorithm", "AES256")
      .close("ApplyServerSideEncryptionByDefault")
      .leaf("BucketKeyEnabled", false)
      .close("Rule")
      .close("ServerSideEncryptionConfiguration");
    return sendXml(ctx, x.toString());
  }

  /** One page of a bucket's keys, folded by the delimiter; `after` is a position in the bucket. */
  async function page(
    ctx: S3Context,
    q: { prefix: string; delimiter?: string; after?: string; cursor?: string; max: number },
  ) {
    const bucket = bucketOf(ctx);
    await requireBucket(ctx, d, bucket);
    const base = `${bucket}/`;
    const result = await objects.listFolder(ctx.owner, {
      prefix: base + q.prefix,
      ...(q.delimiter ? { delimiter: q.delimiter } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      ...(q.after !== undefined ? { after: base + q.after } : {}),
      limit: q.max,
    });
    const fetchOwner = ctx.query.get("fetch-owner") === "true";
    const contents: ObjectEntry[] = [];
    const prefixes: string[] = [];
    for (const e of result.entries) {
      if (e.kind === "folder") prefixes.push(e.prefix.slice(base.length));
      else {
        const md = await objects.metadataOf(e.meta);
        contents.push({
          key: e.meta.id.slice(base.length),
          lastModified: e.meta.modified,
          etag: s3Etag(e.meta, md),
          size: e.meta.size,
          ...(fetchOwner ? { owner: ownerOf(ctx) } : {}),
        });
      }
    }
    const last = result.entries.at(-1);
    const lastKey = last
      ? (last.kind === "folder" ? last.prefix : last.meta.id).slice(base.length)
      : undefined;
    return { bucket, contents, prefixes, next: result.next, lastKey };
  }

  /** The query both object listings read: prefix, delimiter, page size and key encoding. */
  function listQueryOf(ctx: S3Context) {
    requireScope(ctx, "read");
    const delimiter = ctx.query.get("delimiter") || undefined;
    return {
      prefix: ctx.query.get("prefix") ?? "",
      ...(delimiter ? { delimiter } : {}),
      max: maxKeysOf(ctx.query.get("max-keys")),
      encodingType: encodingOf(ctx),
    };
  }

  /** What both object listings answer, from their query and the page it found. */
  function listCommon(q: ReturnType<typeof listQueryOf>, r: Awaited<ReturnType<typeof page>>) {
    return {
      bucket: r.bucket,
      prefix: q.prefix,
      ...(q.delimiter ? { delimiter: q.delimiter } : {}),
      maxKeys: q.max,
      isTruncated: r.next !== null,
      ...(q.encodingType ? { encodingType: q.encodingType } : {}),
      contents: r.contents,
      commonPrefixes: r.prefixes,
    };
  }

  async function listObjectsV2(ctx: S3Context): Promise<unknown> {
    const q = listQueryOf(ctx);
    const token = ctx.query.get("continuation-token");
    const startAfter = ctx.query.get("start-after");
    let r: Awaited<ReturnType<typeof page>>;
    try {
      r = await page(ctx, {
        ...q,
        ...(token !== undefined ? { cursor: token } : startAfter ? { after: startAfter } : {}),
      });
    } catch (err) {
      if (err instanceof AppError && err.code === "bad_request")
        throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
      throw err;
    }
    return sendXml(
      ctx,
      listObjectsV2Xml({
        ...listCommon(q, r),
        ...(token !== undefined ? { continuationToken: token } : {}),
        ...(r.next !== null ? { nextContinuationToken: r.next } : {}),
        ...(startAfter !== undefined ? { startAfter } : {}),
      }),
    );
  }

  async function listObjectsV1(ctx: S3Context): Promise<unknown> {
    const q = listQueryOf(ctx);
    const marker = ctx.query.get("marker") || undefined;
    // A marker that is a common prefix skips everything under it, as S3 does.
    const after =
      marker !== undefined && q.delimiter && marker.endsWith(q.delimiter) ? `${marker}\u{10FFFF}` : marker;
    const r = await page(ctx, { ...q, ...(after ? { after } : {}) });
    for (const c of r.contents) c.owner = ownerOf(ctx);
    return sendXml(
      ctx,
      listObjectsV1Xml({
        ...listCommon(q, r),
        ...(marker !== undefined ? { marker } : {}),
        ...(r.next !== null && q.delimiter && r.lastKey !== undefined ? { nextMarker: r.lastKey } : {}),
      }),
    );
  }

  async function deleteObjects(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const bucket = bucketOf(ctx);
    await requireBucket(ctx, d, bucket);
    const req = parseDeleteObjects(await readVerifiedBody(ctx, MAX_XML_BYTES));
    const deleted: { key: string }[] = [];
    const errors: { key: string; code: string; message: string }[] = [];
    // Each object's own audit event: the request alone names only the bucket.
    const audited: { id: string; status: number }[] = [];
    ctx.audit.objects = audited;
    for (const o of req.objects) {
      try {
        if (o.versionId !== undefined && o.versionId !== "null")
          throw new S3Error("NoSuchVersion", "SSE Store keeps no object versions.");
        await objects.delete(ctx.owner, objectIdOf(bucket, o.key)).catch((err: unknown) => {
          // Deleting what is not there succeeds in S3.
          if (!(err instanceof AppError && err.code === "not_found")) throw err;
        });
        audited.push({ id: `${bucket}/${o.key}`, status: 200 });
        if (!req.quiet) deleted.push({ key: o.key });
      } catch (err) {
        const s3 = toS3Error(err);
        audited.push({ id: `${bucket}/${o.key}`, status: s3?.status ?? 500 });
        if (!s3 || s3.status >= 500) throw err;
        errors.push({ key: o.key, code: s3.code, message: s3.message });
      }
    }
    return sendXml(ctx, deleteResultXml({ deleted, errors }));
  }

  return {
    listBuckets,
    createBucket,
    headBucket,
    deleteBucket,
    getBucketLocation,
    getBucketVersioning,
    getBucketEncryption,
    listObjectsV1,
    listObjectsV2,
    deleteObjects,
  };
}
