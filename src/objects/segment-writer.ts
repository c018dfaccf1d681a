// Cuts a plaintext byte stream into fixed segments and seals them. A full segment waits for the
// next byte before it is sealed, because only the end of the stream tells which segment is last.
import { type SegmentCipher, TAG_BYTES } from "../crypto/segment-format.js";

export class SegmentWriter {
  readonly #buf: Buffer;
  #fill = 0;
  #index = 0;
  readonly #cipher: SegmentCipher;
  readonly #segmentSize: number;
  /** Receives sealed segments in order. */
  readonly #emit: (sealed: Buffer) => void;
  /** Where non-last segments are sealed into (segmentSize + TAG_BYTES bytes): recycled buffers. */
  readonly #output: () => Buffer;

  constructor(
    cipher: SegmentCipher,
    segmentSize: number,
    emit: (sealed: Buffer) => void,
    output: () => Buffer = () => Buffer.allocUnsafe(segmentSize + TAG_BYTES),
  ) {
    this.#cipher = cipher;
    this.#segmentSize = segmentSize;
    this.#emit = emit;
    this.#output = output;
    this.#buf = Buffer.allocUnsafe(segmentSize);
  }

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      // A full segment followed by more bytes is known not to be last.
      if (this.#fill === this.#segmentSize) {
        this.#emit(this.#cipher.sealInto(this.#index++, false, this.#buf, this.#output()));
        this.#fill = 0;
      }
      const n = Math.min(this.#segmentSize - this.#fill, chunk.length - off);
      chunk.copy(this.#buf, this.#fill, off, off + n);
      this.#fill += n;
      off += n;
    }
  }

  /** Seals what is left as the last segment; returns how many segments were emitted in all. */
  end(): number {
    this.#emit(this.#cipher.seal(this.#index++, true, this.#buf.subarray(0, this.#fill)));
    this.#fill = 0;
    return this.#index;
  }
}
