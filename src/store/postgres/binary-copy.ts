// Reading BYTEA in binary: node-postgres receives every result as text, where a BYTEA value is hex
// (twice the bytes, and the server's hex encoding costs ~20x its binary output: measured with
// EXPLAIN (SERIALIZE)). `COPY (SELECT …) TO STDOUT (FORMAT binary)` returns the raw bytes; this is a
// node-postgres "submittable" that runs one such COPY and collects the values of its single column.
import type { Connection } from "pg";

/** "PGCOPY\n\xff\r\n\0": the start of COPY's binary format. */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);

export class BinaryCopyOut {
  callback?: (err: Error | null, values?: Buffer[]) => void;
  readonly #chunks: Buffer[] = [];
  #done = false;

  /** `text` is a complete `COPY (SELECT one_bytea_column …) TO STDOUT (FORMAT binary)`; it takes no parameters. */
  constructor(readonly text: string) {}

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    // A copy: the chunk is a view into the driver's read buffer, which it reuses for later data.
    this.#chunks.push(Buffer.from(msg.chunk));
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (this.#done) return;
    let values: Buffer[];
    try {
      values = parseSingleColumn(Buffer.concat(this.#chunks));
    } catch (err) {
      this.#finish(err as Error);
      return;
    }
    this.#finish(null, values);
  }

  handleError(err: Error): void {
    this.#finish(err);
  }

  // A COPY sends none of these; the client may still call them on a protocol surprise.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  #finish(err: Error | null, values?: Buffer[]): void {
    if (this.#done) return;
    this.#done = true;
    this.#chunks.length = 0;
    this.callback?.(err, values);
  }
}

/** The values of a one-column binary COPY stream, in order; SQL NULL is refused. */
export function parseSingleColumn(buf: Buffer): Buffer[] {
  const bad = (why: string) => new Error(`malformed binary COPY data: ${why}`);
  if (buf.length < SIGNATURE.length + 8 || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    throw bad("no signature");
  let off = SIGNATURE.length + 4; // the flags
  off += 4 + buf.readUInt32BE(off); // the header extension
  const values: Buffer[] = [];
  for (;;) {
    if (off + 2 > buf.length) throw bad("truncated");
    const fields = buf.readInt16BE(off);
    off += 2;
    if (fields === -1) break;
    if (fields !== 1) throw bad(`${fields} columns`);
    if (off + 4 > buf.length) throw bad("truncated");
    const len = buf.readInt32BE(off);
    off += 4;
    if (len < 0) throw bad("a NULL value");
    if (off + len > buf.length) throw bad("truncated");
    values.push(buf.subarray(off, off + len));
    off += len;
  }
  return values;
}

/** A BYTEA literal for a COPY, which takes no parameters: hex digits only, so nothing to escape. */
export function byteaLiteral(b: Buffer): string {
  return `'\\x${b.toString("hex")}'::bytea`;
}
