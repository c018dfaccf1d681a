// Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts and ListMultipartUploads. Parts are encrypted as they stream in and
// joined at Complete without a copy (objects/multipart-service.ts; docs/FORMAT.md, "Multipart objects").
import type { ObjectMetadata } from "../../objects/object-metadata.js";
import { parseRange } from "../../objects/range.js";
import { CHECKSUM_ALGORITHMS, isChecksumAlgorithm } from "../checksums.js";
import { bucketOf, keyOf, requireScope, type S3Context } from "../context.js";
import { toS3Error } from "../error-map.js";
import { S3Error } from "../errors.js";
import { contentTypeOf, headersToStore, s3Etag, userMetadata } from "../object-headers.js";
import { PayloadDecoder, planPayload } from "../payload.js";
import { MAX_COMPLETE_BYTES, parseCompleteMultipartUpload } from "../xml-requests.js";
import {
  completeMultipartUploadXml,
  copyPartXml,
  initiateMultipartUploadXml,
  listMultipartUploadsXml,
  listPartsXml,
} from "../xml-responses.js";
import type { Owner } from "../xml-write.js";
import type { S3Domain } from "./domain.js";
import { checkCopyConditions, resolveCopySource } from "./objects.js";
import { readVerifiedBody, resolveObject, sendXml, writeConditionFor } from "./shared.js";

function ownerOf(ctx: S3Context): Owner {
  return { id: ctx.caller.user.uid, displayName: ctx.caller.user.name };
}

function uploadIdOf(ctx: S3Context): string {
  const id = ctx.query.get("uploadId");
  if (!id) throw new S3Error("NoSuchUpload");
  return id;
}

function partNumberOf(ctx: S3Context): number {
  const n = ctx.query.get("partNumber") ?? "";
  if (!/^[1-9][0-9]{0,4}$/.test(n) || Number(n) > 10_000)
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.");
  return Number(n);
}

function maxOf(v: string | undefined, name: string): number {
  if (v === undefined) return 1000;
  if (!/^\d{1,9}$/.test(v)) throw new S3Error("InvalidArgument", `${name} must be a non-negative integer.`);
  return Math.min(1000, Number(v));
}

/** A multipart failure as S3 names it: a missing upload is NoSuchUpload, not NoSuchKey. */
function asUploadError(err: unknown): unknown {
  return toS3Error(err, "NoSuchUpload") ?? err;
}

export function multipartOps(d: S3Domain) {
  const { multipart, objects } = d;

  async function createMultipartUpload(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const algorithm = ctx.headers.get("x-amz-checksum-algorithm")?.toLowerCase();
    if (algorithm !== undefined && !isChecksumAlgorithm(algorithm))
      throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported.");
    const contentType = contentTypeOf(ctx.headers);
    const metadata: ObjectMetadata = {
      contentType,
      headers: headersToStore(ctx.headers),
      user: userMetadata(ctx.headers),
    };
    const { uploadId } = await multipart.create(ctx.owner, id, { contentType, metadata });
    ctx.reply.header("x-amz-server-side-encryption", "AES256");
    if (algorithm) ctx.reply.header("x-amz-checksum-algorithm", algorithm.toUpperCase());
    return sendXml(ctx, initiateMultipartUploadXml({ bucket: bucketOf(ctx), key: keyOf(ctx), uploadId }));
  }

  /** The part a request writes (its object, upload and number), checked in this order. */
  async function partTarget(ctx: S3Context) {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    return { owner: ctx.owner, id, uploadId: uploadIdOf(ctx), number: partNumberOf(ctx) };
  }

  async function storePart(input: Parameters<typeof multipart.uploadPart>[0]) {
    try {
      return await multipart.uploadPart(input);
    } catch (err) {
      throw asUploadError(err);
    }
  }

  async function uploadPart(ctx: S3Context): Promise<unknown> {
    const target = await partTarget(ctx);
    const plan = planPayload(ctx.verified, ctx.headers, { md5: false });
    const decoder = new PayloadDecoder(plan);
    const part = await storePart({
      ...target,
      body: decoder.body(ctx.req.raw),
      ...(plan.length !== undefined ? { contentLength: plan.length } : {}),
      checksums: () => {
        const out: Record<string, string> = {};
        for (const a of CHECKSUM_ALGORITHMS) {
          const v = decoder.result.checksums[a];
          if (v) out[a] = v.toString("base64");
        }
        return out;
      },
    });
    ctx.reply.header("ETag", `"${part.md5}"`);
    ctx.reply.header("x-amz-server-side-encryption", "AES256");
    const declared = decoder.result.declared;
    if (declared && part.checksums[declared])
      ctx.reply.header(`x-amz-checksum-${declared}`, part.checksums[declared]);
    return ctx.reply.code(200).send();
  }

  async function uploadPartCopy(ctx: S3Context): Promise<unknown> {
    const target = await partTarget(ctx);
    const source = await resolveCopySource(ctx, d);
    ctx.audit.source = source.id;
    ctx.audit.keyVersion = source.kekVersion;
    const srcMd = await objects.metadataOf(source);
    checkCopyConditions(ctx, s3Etag(source, srcMd), source.modified);
    const rangeHeader = ctx.headers.get("x-amz-copy-source-range");
    let range = null;
    if (rangeHeader !== undefined) {
      range = parseRange(rangeHeader, source.size);
      if (
        !range ||
        !/^bytes=\d+-\d+$/.test(rangeHeader.trim()) ||
        range.end !== Number(rangeHeader.split("-")[1])
      )
        throw new S3Error(
          "InvalidArgument",
          "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        );
    }
    const size = range ? range.end - range.start + 1 : source.size;
    await ctx.audit.beforeSourceRead?.();
    const body =
      size === 0
        ? []
        : objects.isSmall(source) && !range
          ? [await objects.readSmall(source)]
          : await objects.read(source, range);
    const part = await storePart({ ...target, body, contentLength: size });
    return sendXml(ctx, copyPartXml({ etag: `"${part.md5}"`, lastModified: part.created }));
  }

  async function completeMultipartUpload(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const uploadId = uploadIdOf(ctx);
    const { parts } = parseCompleteMultipartUpload(await readVerifiedBody(ctx, MAX_COMPLETE_BYTES));
    const cond = await writeConditionFor(ctx, d, id);
    let done: Awaited<ReturnType<typeof multipart.complete>>;
    try {
      done = await multipart.complete({
        owner: ctx.owner,
        id,
        uploadId,
        parts: parts.map((p) => ({ number: p.partNumber, etag: p.etag, checksums: p.checksums })),
        cond,
      });
    } catch (err) {
      throw asUploadError(err);
    }
    ctx.audit.keyVersion = done.kekVersion;
    ctx.reply.header("x-amz-server-side-encryption", "AES256");
    const location = `/${bucketOf(ctx)}/${keyOf(ctx).split("/").map(encodeURIComponent).join("/")}`;
    return sendXml(
      ctx,
      completeMultipartUploadXml({
        location,
        bucket: bucketOf(ctx),
        key: keyOf(ctx),
        etag: s3Etag(done, done.metadata ?? null),
      }),
    );
  }

  async function abortMultipartUpload(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    try {
      await multipart.abort(ctx.owner, id, uploadIdOf(ctx));
    } catch (err) {
      throw asUploadError(err);
    }
    return ctx.reply.code(204).send();
  }

  async function listParts(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const uploadId = uploadIdOf(ctx);
    const marker = ctx.query.get("part-number-marker");
    if (marker !== undefined && !/^\d{1,5}$/.test(marker))
      throw new S3Error("InvalidArgument", "part-number-marker must be an integer.");
    const max = maxOf(ctx.query.get("max-parts"), "max-parts");
    let page: Awaited<ReturnType<typeof multipart.listParts>>;
    try {
      page = await multipart.listParts(ctx.owner, id, uploadId, { after: Number(marker ?? 0), limit: max });
    } catch (err) {
      throw asUploadError(err);
    }
    const last = page.parts.at(-1);
    return sendXml(
      ctx,
      listPartsXml({
        bucket: bucketOf(ctx),
        key: keyOf(ctx),
        uploadId,
        partNumberMarker: Number(marker ?? 0),
        ...(page.truncated && last ? { nextPartNumberMarker: last.number } : {}),
        maxParts: max,
        isTruncated: page.truncated,
        owner: ownerOf(ctx),
        parts: page.parts.map((p) => ({
          partNumber: p.number,
          lastModified: p.created,
          etag: `"${p.md5}"`,
          size: p.size,
          checksums: p.checksums,
        })),
      }),
    );
  }

  async function listMultipartUploads(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "read");
    const bucket = bucketOf(ctx);
    if (!(await d.buckets.exists(ctx.owner, bucket))) throw new S3Error("NoSuchBucket");
    const prefix = ctx.query.get("prefix") ?? "";
    const delimiter = ctx.query.get("delimiter") || undefined;
    const keyMarker = ctx.query.get("key-marker") || undefined;
    const uploadIdMarker = ctx.query.get("upload-id-marker") || undefined;
    const max = maxOf(ctx.query.get("max-uploads"), "max-uploads");
    const encoding = ctx.query.get("encoding-type");
    const base = `${bucket}/`;
    const page = await multipart.listUploads(ctx.owner, {
      prefix: base + prefix,
      ...(delimiter ? { delimiter } : {}),
      ...(keyMarker !== undefined ? { keyMarker: base + keyMarker } : {}),
      ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
      limit: max,
    });
    const uploads = page.uploads.map((u) => ({
      key: u.id.slice(base.length),
      uploadId: u.uploadId,
      initiated: u.created,
      owner: ownerOf(ctx),
    }));
    const next = page.next;
    return sendXml(
      ctx,
      listMultipartUploadsXml({
        bucket,
        ...(keyMarker !== undefined ? { keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
        ...(next
          ? {
              nextKeyMarker: next.keyMarker.slice(base.length),
              ...(next.uploadIdMarker !== undefined ? { nextUploadIdMarker: next.uploadIdMarker } : {}),
            }
          : {}),
        prefix,
        ...(delimiter ? { delimiter } : {}),
        maxUploads: max,
        isTruncated: page.truncated,
        ...(encoding?.toLowerCase() === "url" ? { encodingType: "url" as const } : {}),
        uploads,
        commonPrefixes: page.prefixes.map((p) => p.slice(base.length)),
      }),
    );
  }

  return {
    createMultipartUpload,
    uploadPart,
    uploadPartCopy,
    completeMultipartUpload,
    abortMultipartUpload,
    listParts,
    listMultipartUploads,
  };
}
