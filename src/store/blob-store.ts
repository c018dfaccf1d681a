// The port of blobs: the sealed segments of one write, stored once, outside the metadata database.
// The file adapter (files/blob-files.ts) keeps one file per write under SSE_DATA_DIR/blobs; an
// S3-compatible bucket holding only ciphertext fits the same shape. A blob is written once, in
// segment order, made durable by seal() before its metadata is committed, read by segment index,
// and removed when the metadata no longer names it. The adapter knows nothing of objects or keys:
// which blobs are still wanted is the metadata store's to say (its orphan sweep).

export interface BlobStore {
  /**
   * Writes segments `first, first+1, …` of a write's blob (created by the call with first = 0).
   * Every segment but the blob's last has the length of its first. The store keeps no reference
   * to the buffers once the promise settles.
   */
  append(writeId: Buffer, first: number, segments: Buffer[]): Promise<void>;
  /** Makes the blob durable (its data, then its name) and ends its writing. */
  seal(writeId: Buffer): Promise<void>;
  /**
   * `count` segments from `first` (fewer at the end), or null when there is no blob for the write.
   * A damaged blob (cut short, from another write, not a blob) gives short or missing segments or
   * an IntegrityError, never another write's bytes. The buffers belong to the caller.
   */
  read(writeId: Buffer, first: number, count: number): Promise<Buffer[] | null>;
  /** Removes the blob, written or half-written; nothing when there is none. */
  remove(writeId: Buffer): Promise<void>;
  /** The write ids of every stored blob, in no order (the orphan sweep's input). */
  list(): AsyncIterable<Buffer>;
  /** Bytes the blob takes, or null when there is none. */
  size(writeId: Buffer): Promise<number | null>;
  /** Closes blobs still being written (their writes fail; the uploads are swept later). */
  close(): Promise<void>;
}
