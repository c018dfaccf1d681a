// Reading a multipart object (format version 2): its sealed manifest names the part writes in
// order; a read opens, for each part the range touches, only the segments that cover it, each part
// with the context that binds it to this upload and its number (docs/FORMAT.md).
import {
  createSegmentCipher,
  FORMAT_VERSION_PART,
  type SegmentCipher,
  type SegmentContext,
  segmentCount,
} from "../crypto/segment-format.js";
import { IntegrityError } from "../errors.js";
import type { ObjectMeta } from "../store/records.js";
import type { YoungCollector } from "../young-gc.js";
import type { Manifest, ManifestPart } from "./multipart-manifest.js";
import { partsForRange } from "./multipart-manifest.js";
import type { ByteRange } from "./range.js";
import { segmentsForRange } from "./range.js";
import { BATCH_SEGMENTS, openChecked, plaintextOnThisThread, type ReadPlan } from "./segment-reader.js";

export interface PartReadDeps {
  /** `n` sealed segments of a part write from `first`: all of them, or IntegrityError. */
  fetch(writeId: Buffer, first: number, n: number): Promise<Buffer[]>;
  youngGc: YoungCollector;
}

/** The context of one part of `meta` (the multipart object): its own write, bound to the upload. */
export function partContext(meta: ObjectMeta, part: ManifestPart): SegmentContext {
  return {
    formatVersion: FORMAT_VERSION_PART,
    suite: meta.suite,
    segmentSize: meta.segmentSize,
    owner: meta.owner,
    objectId: meta.id,
    writeId: Buffer.from(part.w, "hex"),
    part: { uploadWriteId: meta.writeId, number: part.n },
  };
}

/** A part seen as an object of its own: what the segment checks measure it by. */
function partMeta(meta: ObjectMeta, part: ManifestPart): ObjectMeta {
  return { ...meta, writeId: Buffer.from(part.w, "hex"), size: part.size };
}

/**
 * Opens the first segment of a part's slice and plans the rest (what a single write's read does).
 * The part's cipher goes into `ciphers`, for whoever disposes of them.
 */
async function planSlice(
  meta: ObjectMeta,
  dek: Buffer,
  slice: { part: ManifestPart; start: number; end: number },
  deps: PartReadDeps,
  ciphers: SegmentCipher[],
): Promise<ReadPlan> {
  const pm = partMeta(meta, slice.part);
  const cipher = createSegmentCipher(dek, partContext(meta, slice.part));
  ciphers.push(cipher);
  const count = segmentCount(pm.size, pm.segmentSize);
  const span = segmentsForRange({ start: slice.start, end: slice.end }, pm.segmentSize);
  const wanted = slice.end - slice.start + 1;
  const fetch = (from: number, n: number) => deps.fetch(pm.writeId, from, n);
  const firstBatch = await fetch(span.first, Math.min(BATCH_SEGMENTS, span.last - span.first + 1));
  const head = openChecked(cipher, pm, span.first, count, firstBatch[0]).subarray(
    span.skip,
    span.skip + wanted,
  );
  return {
    meta: pm,
    cipher,
    count,
    first: span.first,
    last: span.last,
    wanted,
    firstBatch,
    head,
    fetch,
    youngGc: deps.youngGc,
  };
}

export interface MultipartText {
  chunks: AsyncGenerator<Buffer>;
  /** Disposes of the parts' ciphers (their keys); call once the stream has ended, however. */
  dispose(): void;
}

/**
 * The plaintext of bytes `range` (all when null) of a multipart object. The first segment of the
 * first part is opened before this resolves, so damage found early becomes a clean error; each
 * later part is opened when the stream reaches it. `dek` must stay valid until the stream ends.
 */
export async function multipartPlaintext(
  meta: ObjectMeta,
  manifest: Manifest,
  dek: Buffer,
  range: ByteRange | null,
  deps: PartReadDeps,
): Promise<MultipartText> {
  const ciphers: SegmentCipher[] = [];
  const dispose = () => {
    for (const c of ciphers.splice(0)) c.dispose();
  };
  if (meta.size === 0) return { chunks: (async function* () {})(), dispose };
  const r = range ?? { start: 0, end: meta.size - 1 };
  const slices = partsForRange(manifest, r.start, r.end);
  if (slices.length === 0) throw new IntegrityError("the multipart manifest does not cover the range");
  try {
    const first = await planSlice(meta, dek, slices[0]!, deps, ciphers);
    const chunks = (async function* () {
      yield* plaintextOnThisThread(first);
      for (const slice of slices.slice(1)) {
        // One part's key at a time: the parts before this one are done.
        dispose();
        yield* plaintextOnThisThread(await planSlice(meta, dek, slice, deps, ciphers));
      }
    })();
    return { chunks, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
