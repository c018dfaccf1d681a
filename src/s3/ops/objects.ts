// PutObject, GetObject, HeadObject, DeleteObject, CopyObject and the tagging stand-ins: S3 names for
// the native objects of the caller's namespace (bucket `photos` + key `2026/a.jpg` is the object
// `photos/2026/a.jpg` of the native API), through the same domain service.
import type { Readable } from "node:stream";
import { contentSafetyHeaders } from "../../http/content-safety.js";
import type { ObjectMetadata } from "../../objects/object-metadata.js";
import { type ByteRange, parseRange } from "../../objects/range.js";
import type { ObjectMeta } from "../../store/records.js";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumHeader } from "../checksums.js";
import { requireScope, type S3Context } from "../context.js";
import { toS3Error } from "../error-map.js";
import { S3Error } from "../errors.js";
import { HeaderIndex } from "../headers.js";
import {
  applyResponseOverrides,
  checkReadConditions,
  contentTypeOf,
  headersToStore,
  ifRangeHolds,
  s3Etag,
  userMetadata,
  writeObjectHeaders,
} from "../object-headers.js";
import { PayloadDecoder, type PayloadResult, planPayload } from "../payload.js";
import { copyObjectXml, taggingXml } from "../xml-responses.js";
import type { S3Domain } from "./domain.js";
import { resolveObject, sendXml, writeConditionFor } from "./shared.js";

function checksumsOf(r: PayloadResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of CHECKSUM_ALGORITHMS) {
    const v = r.checksums[a];
    if (v) out[a] = v.toString("base64");
  }
  return out;
}

/** The checksum a client asked for or sent: echoed back as S3 does. */
function echoChecksum(ctx: S3Context, r: PayloadResult): void {
  if (r.declared) {
    const v = r.checksums[r.declared];
    if (v) ctx.reply.header(checksumHeader(r.declared), v.toString("base64"));
  }
}

/** Checksums worth keeping with the object: the one the client sent, and CRC32 as S3's default. */
const STORED_CHECKSUMS: readonly ChecksumAlgorithm[] = ["crc32"];

export function objectOps(d: S3Domain) {
  const { objects } = d;

  async function putObject(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const plan = planPayload(ctx.verified, ctx.headers, { alsoCompute: STORED_CHECKSUMS, md5: false });
    const decoder = new PayloadDecoder(plan);
    const cond = await writeConditionFor(ctx, d, id);
    const contentType = contentTypeOf(ctx.headers);
    const stored = headersToStore(ctx.headers);
    const user = userMetadata(ctx.headers);
    const { meta, metadata } = await objects.put({
      owner: ctx.owner,
      id,
      body: decoder.body(ctx.req.raw),
      contentType,
      ...(plan.length !== undefined ? { contentLength: plan.length } : {}),
      cond,
      md5: true,
      describe: ({ md5 }): ObjectMetadata => ({
        contentType,
        headers: stored,
        user,
        etag: md5.toString("hex"),
        checksums: checksumsOf(decoder.result),
        checksumType: "FULL_OBJECT",
      }),
    });
    ctx.audit.keyVersion = meta.kekVersion;
    ctx.reply.header("ETag", s3Etag(meta, metadata ?? null));
    ctx.reply.header("x-amz-server-side-encryption", "AES256");
    echoChecksum(ctx, decoder.result);
    return ctx.reply.code(200).send();
  }

  async function readObject(ctx: S3Context, head: boolean): Promise<unknown> {
    requireScope(ctx, "read");
    const { meta } = await resolveObject(ctx, d, { mustExist: true, forRead: !head });
    ctx.audit.keyVersion = meta.kekVersion;
    const md = await objects.metadataOf(meta);
    const etag = s3Etag(meta, md);
    checkReadConditions(ctx.headers, etag, meta.modified);
    const reply = ctx.reply;
    contentSafetyHeaders(reply);
    const whole = !ctx.headers.has("range") && !ctx.query.has("partNumber");
    const { range: wanted, partsCount, empty } = await rangeOf(ctx, meta);
    writeObjectHeaders(reply, meta, md, {
      checksums: whole && ctx.headers.get("x-amz-checksum-mode")?.toUpperCase() === "ENABLED",
      ...(partsCount !== undefined ? { partsCount } : {}),
    });
    if (!head) applyResponseOverrides(reply, ctx.query);
    let range = wanted;
    const ifRange = ctx.headers.get("if-range");
    if (range && ifRange !== undefined && !ifRangeHolds(ifRange, etag, meta.modified)) range = null;
    // An empty part (a multipart upload's last part may be) holds no bytes: none, never all of them.
    if (empty) return reply.code(200).header("Content-Length", 0).send();
    if (range) {
      reply.code(206);
      reply.header("Content-Range", `bytes ${range.start}-${range.end}/${meta.size}`);
      reply.header("Content-Length", range.end - range.start + 1);
    } else reply.code(200).header("Content-Length", meta.size);
    if (head) return reply.send();
    if (objects.isSmall(meta)) {
      const all = await objects.readSmall(meta);
      return reply.send(range ? all.subarray(range.start, range.end + 1) : all);
    }
    const stream: Readable = await objects.read(meta, range);
    return reply.send(stream);
  }

  /** Range, or ?partNumber=N (the bytes of part N; part 1 of a single-part object is all of it). */
  async function rangeOf(
    ctx: S3Context,
    meta: ObjectMeta,
  ): Promise<{ range: ByteRange | null; partsCount?: number; empty?: boolean }> {
    const part = ctx.query.get("partNumber");
    if (part !== undefined) {
      if (!/^[1-9][0-9]{0,4}$/.test(part))
        throw new S3Error(
          "InvalidArgument",
          "Part number must be an integer between 1 and 10000, inclusive.",
        );
      const r = await objects.partRange(meta, Number(part));
      if (!r) throw new S3Error("InvalidPartNumber");
      if (r.end < r.start) return { range: null, partsCount: r.count, empty: true };
      return { range: { start: r.start, end: r.end }, partsCount: r.count };
    }
    try {
      return { range: parseRange(ctx.headers.get("range"), meta.size) };
    } catch (err) {
      throw toS3Error(err) ?? err;
    }
  }

  async function deleteObject(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const cond = ctx.headers.has("if-match") ? await writeConditionFor(ctx, d, id) : undefined;
    try {
      await objects.delete(ctx.owner, id, cond);
    } catch (err) {
      // Deleting what is not there succeeds in S3.
      if (!(toS3Error(err)?.code === "NoSuchKey")) throw err;
    }
    return ctx.reply.code(204).send();
  }

  async function copyObject(ctx: S3Context): Promise<unknown> {
    requireScope(ctx, "write");
    const { id } = await resolveObject(ctx, d, { mustExist: false });
    const source = await resolveCopySource(ctx, d);
    ctx.audit.source = source.id;
    const srcMd = await objects.metadataOf(source);
    checkCopyConditions(ctx, s3Etag(source, srcMd), source.modified);
    const directive = (ctx.headers.get("x-amz-metadata-directive") ?? "COPY").toUpperCase();
    if (directive !== "COPY" && directive !== "REPLACE")
      throw new S3Error("InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE.");
    if (source.owner === ctx.owner && source.id === id && directive === "COPY")
      throw new S3Error(
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    const replace = directive === "REPLACE";
    const contentType = replace ? contentTypeOf(ctx.headers) : (srcMd?.contentType ?? source.contentType);
    const headers = replace ? headersToStore(ctx.headers) : (srcMd?.headers ?? {});
    const user = replace ? userMetadata(ctx.headers) : (srcMd?.user ?? {});
    const cond = await writeConditionFor(ctx, d, id);
    const body = objects.isSmall(source)
      ? [await objects.readSmall(source)]
      : await objects.read(source, null);
    const { meta, metadata } = await objects.put({
      owner: ctx.owner,
      id,
      body,
      contentType,
      contentLength: source.size,
      cond,
      md5: true,
      describe: ({ md5 }) => ({ contentType, headers, user, etag: md5.toString("hex") }),
    });
    ctx.audit.keyVersion = meta.kekVersion;
    return sendXml(ctx, copyObjectXml({ etag: s3Etag(meta, metadata ?? null), lastModified: meta.modified }));
  }

  return {
    putObject,
    copyObject,
    getObject: (ctx: S3Context) => readObject(ctx, false),
    headObject: (ctx: S3Context) => readObject(ctx, true),
    deleteObject,
    // Tags are not kept; an empty set lets clients that read or write them carry on.
    getObjectTagging: async (ctx: S3Context) => {
      requireScope(ctx, "read");
      await resolveObject(ctx, d, { mustExist: true });
      return sendXml(ctx, taggingXml([]));
    },
    putObjectTagging: async (ctx: S3Context) => {
      requireScope(ctx, "write");
      await resolveObject(ctx, d, { mustExist: true });
      throw new S3Error("NotImplemented", "SSE Store does not keep object tags.");
    },
    deleteObjectTagging: async (ctx: S3Context) => {
      requireScope(ctx, "write");
      await resolveObject(ctx, d, { mustExist: true });
      return ctx.reply.code(204).send();
    },
  };
}

/** x-amz-copy-source: `bucket/key` or `/bucket/key`, URL-encoded, of the caller's own namespace. */
export async function resolveCopySource(ctx: S3Context, d: S3Domain): Promise<ObjectMeta> {
  const raw = ctx.headers.get("x-amz-copy-source") ?? "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.split("?")[0] ?? "");
  } catch {
    throw new S3Error("InvalidArgument", "x-amz-copy-source is not URL-encoded correctly.");
  }
  if (/[?&]versionId=(?!null(?:&|$))/.test(raw))
    throw new S3Error("NotImplemented", "SSE Store keeps no object versions to copy from.");
  const path = decoded.startsWith("/") ? decoded.slice(1) : decoded;
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1)
    throw new S3Error("InvalidArgument", "x-amz-copy-source must name a bucket and a key.");
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  const { meta } = await resolveObject({ ...ctx, address: { bucket, key } }, d, {
    mustExist: true,
    forRead: true,
  });
  return meta;
}

/** x-amz-copy-source-if-* : the conditions of a copy on its source. */
export function checkCopyConditions(ctx: S3Context, etag: string, modified: Date): void {
  const h = ctx.headers;
  const map: Array<[string, string]> = [
    ["x-amz-copy-source-if-match", "if-match"],
    ["x-amz-copy-source-if-none-match", "if-none-match"],
    ["x-amz-copy-source-if-modified-since", "if-modified-since"],
    ["x-amz-copy-source-if-unmodified-since", "if-unmodified-since"],
  ];
  const pairs: [string, string][] = [];
  for (const [from, to] of map) {
    const v = h.get(from);
    if (v !== undefined) pairs.push([to, v]);
  }
  if (pairs.length === 0) return;
  try {
    checkReadConditions(HeaderIndex.fromObject(Object.fromEntries(pairs)), etag, modified);
  } catch (err) {
    // A copy answers 412 where a read would answer 304.
    if (err instanceof S3Error && err.code === "NotModified") throw new S3Error("PreconditionFailed");
    throw err;
  }
}
