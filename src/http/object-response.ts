// Sends an object (or an item) as GET/HEAD /data/{id} does: conditional requests, ranges, and a
// body streamed from the segments, never runnable by a browser (content-safety.ts). Shared by the
// bearer route and by download links.
import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import { idToJson } from "../objects/object-id.js";
import type { ObjectService } from "../objects/object-service.js";
import { parseRange } from "../objects/range.js";
import type { ObjectMeta } from "../store/records.js";
import { checkCondition } from "../store/write-condition.js";
import { contentSafetyHeaders } from "./content-safety.js";

/** Parses an entity-tag list header (If-Match / If-None-Match); weak tags count only where `weakOk`. */
export function parseEtagList(header: string | undefined, weakOk: boolean): string[] | undefined {
  if (header === undefined) return undefined;
  const out: string[] = [];
  for (const raw of header.split(",")) {
    const tag = raw.trim();
    if (tag === "*") out.push(tag);
    else if (/^"[\x21\x23-\x7e]*"$/.test(tag)) out.push(tag);
    else if (/^W\/"[\x21\x23-\x7e]*"$/.test(tag)) {
      if (weakOk) out.push(tag.slice(2));
    } else throw new AppError("invalid_header", 'entity tags must be quoted, e.g. "abc", or *');
  }
  return out;
}

function objectHeaders(reply: FastifyReply, meta: ObjectMeta, cacheControl: string): void {
  reply.header("ETag", meta.etag);
  reply.header("Last-Modified", meta.modified.toUTCString());
  reply.header("Accept-Ranges", "bytes");
  reply.header("X-Key-Version", String(meta.kekVersion));
  reply.header("Cache-Control", cacheControl);
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

export async function sendObject(
  objects: ObjectService,
  req: FastifyRequest,
  reply: FastifyReply,
  meta: ObjectMeta,
  head: boolean,
  cacheControl = "private, no-cache",
): Promise<FastifyReply> {
  contentSafetyHeaders(reply);
  if (meta.kind === "item") {
    reply.header("Cache-Control", cacheControl);
    const json = JSON.stringify({
      id: idToJson(meta.id),
      data: (objects.isSmall(meta)
        ? await objects.readSmall(meta)
        : await readAll(await objects.read(meta, null))
      ).toString("utf8"),
    });
    reply.type("application/json; charset=utf-8");
    if (head) return reply.header("Content-Length", Buffer.byteLength(json)).send();
    return reply.send(json);
  }
  objectHeaders(reply, meta, cacheControl);
  const inm = parseEtagList(req.headers["if-none-match"], true);
  if (inm && (inm.includes("*") || inm.includes(meta.etag))) return reply.code(304).send();
  const im = parseEtagList(req.headers["if-match"], false);
  if (im) checkCondition(meta, { ifMatch: im });
  let range = parseRange(req.headers.range, meta.size);
  const ifRange = req.headers["if-range"];
  if (range && ifRange !== undefined && ifRange !== meta.etag) range = null;
  reply.type(meta.contentType);
  if (range) {
    reply.code(206);
    reply.header("Content-Range", `bytes ${range.start}-${range.end}/${meta.size}`);
    reply.header("Content-Length", range.end - range.start + 1);
  } else reply.header("Content-Length", meta.size);
  if (head) return reply.send();
  if (objects.isSmall(meta)) {
    const whole = await objects.readSmall(meta);
    return reply.send(range ? whole.subarray(range.start, range.end + 1) : whole);
  }
  return reply.send(await objects.read(meta, range));
}
