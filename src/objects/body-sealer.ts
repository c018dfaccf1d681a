// The write pipeline shared by an object's write and a multipart upload's part: a plaintext body
// streamed into sealed segments, handed to the store a batch at a time (memory stays bounded), with
// the counts, limits and digests a write needs. What to commit is the caller's: an object commits
// its metadata, a part its part record.
import { createHash, type Hash } from "node:crypto";
import { EtagHasher } from "../crypto/etag.js";
import { type SegmentCipher, TAG_BYTES } from "../crypto/segment-format.js";
import { AppError } from "../errors.js";
import type { ObjectStore } from "../store/object-store.js";
import type { YoungCollector } from "../young-gc.js";
import type { ExpectedDigest } from "./content-digest.js";
import { localMd5, type Md5Stream, type Md5Thread } from "./md5-thread.js";
import { BATCH_SEGMENTS } from "./segment-reader.js";
import { SegmentWriter } from "./segment-writer.js";
import { checkObjectSize } from "./size-limit.js";

export interface SealOptions {
  /** Whose upload it is, for the store's registration of it (swept if the process dies). */
  owner: string;
  id: string;
  writeId: Buffer;
  cipher: SegmentCipher;
  /** The write's data key: the native ETag is keyed with it. */
  dek: Buffer;
  segmentSize: number;
  maxBytes: number;
  /** Declared length, when the client sent one: checked as the body streams and at its end. */
  contentLength?: number;
  digest?: ExpectedDigest;
  /** Compute the plaintext's MD5 (S3's ETag of a single PUT, and of each part). */
  md5?: boolean;
  /** Where the MD5 runs (md5-thread.ts); absent, on this thread. */
  md5Thread?: Md5Thread | undefined;
  youngGc: YoungCollector;
  /** Told of every plaintext chunk before it is stored (the space reserve counts them). */
  onChunk?: (bytes: number) => void;
}

export interface SealedBody {
  size: number;
  /** The native API's keyed ETag. */
  etag: string;
  md5: Buffer | null;
  /** Sealed segments not yet stored: all of them when `began` is false (a small body). */
  pending: Buffer[];
  /** Segments already stored under the write id. */
  stored: number;
}

/**
 * Streams `body` into sealed segments. Once more than a batch has arrived, the write is registered
 * (beginUpload) and batches go to the store as they fill; `began` says so, and the caller must then
 * either commit the write or abortUpload it.
 */
export class BodySealer {
  began = false;

  readonly #store: ObjectStore;
  readonly #o: SealOptions;

  constructor(store: ObjectStore, o: SealOptions) {
    this.#store = store;
    this.#o = o;
  }

  async seal(body: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<SealedBody> {
    const o = this.#o;
    const etag = new EtagHasher(o.dek);
    const hash: Hash | null = o.digest ? createHash(o.digest.algorithm) : null;
    const md5: Md5Stream | null = o.md5 ? (o.md5Thread?.start() ?? localMd5()) : null;
    try {
      return await this.#sealWith(body, etag, hash, md5);
    } catch (err) {
      md5?.abort();
      throw err;
    }
  }

  async #sealWith(
    body: AsyncIterable<Buffer> | Iterable<Buffer>,
    etag: EtagHasher,
    hash: Hash | null,
    md5: Md5Stream | null,
  ): Promise<SealedBody> {
    const o = this.#o;
    let batch: Buffer[] = [];
    // Full sealed segments go back here once the store has them: one batch of buffers per upload.
    const spare: Buffer[] = [];
    const full = o.segmentSize + TAG_BYTES;
    const writer = new SegmentWriter(
      o.cipher,
      o.segmentSize,
      (sealed) => {
        // The ETag covers the segment tags (each commits to its segment); see docs/FORMAT.md.
        etag.update(sealed.subarray(sealed.length - TAG_BYTES));
        batch.push(sealed);
      },
      () => spare.pop() ?? Buffer.allocUnsafe(full),
    );
    let size = 0;
    let stored = 0;
    for await (const chunk of body) {
      size += chunk.length;
      checkObjectSize(size, o.maxBytes);
      if (o.contentLength !== undefined && size > o.contentLength)
        throw new AppError("length_mismatch", "the body is longer than Content-Length");
      o.onChunk?.(chunk.length);
      hash?.update(chunk);
      const behind = md5?.update(chunk);
      writer.write(chunk);
      if (behind) await behind;
      if (batch.length >= BATCH_SEGMENTS) {
        if (!this.began) {
          await this.#store.beginUpload(o.owner, o.id, o.writeId);
          this.began = true;
        }
        const out = batch;
        batch = [];
        await this.#store.appendSegments(o.writeId, stored, out);
        stored += out.length;
        // The store is done with them (ObjectStore.appendSegments).
        for (const b of out) if (b.length === full) spare.push(b);
        // The request's chunks that made them are garbage now.
        o.youngGc.released(out.length * o.segmentSize);
      }
    }
    if (o.contentLength !== undefined && size !== o.contentLength)
      throw new AppError("length_mismatch", "the body is shorter than Content-Length");
    writer.end();
    const sizeBytes = Buffer.alloc(8);
    sizeBytes.writeBigUInt64BE(BigInt(size));
    etag.update(sizeBytes);
    if (hash && o.digest && !hash.digest().equals(o.digest.value))
      throw new AppError(
        "digest_mismatch",
        `the body does not match its Content-Digest ${o.digest.algorithm}`,
      );
    return { size, etag: etag.digest(), md5: md5 ? await md5.digest() : null, pending: batch, stored };
  }

  /** Stores the segments still pending (before a commit that does not take them inline). */
  async flush(body: SealedBody): Promise<void> {
    if (!this.began) {
      await this.#store.beginUpload(this.#o.owner, this.#o.id, this.#o.writeId);
      this.began = true;
    }
    if (body.pending.length > 0) await this.#store.appendSegments(this.#o.writeId, body.stored, body.pending);
    body.stored += body.pending.length;
    body.pending = [];
  }
}
