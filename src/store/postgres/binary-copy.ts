// BYTEA in binary, both ways, through COPY's binary format. node-postgres receives every result as
// text, where a BYTEA value is hex (twice the bytes, and the server's hex encoding costs ~20x its
// binary output: measured with EXPLAIN (SERIALIZE)); and it builds a parameter message by copying
// each value several times into a growing buffer. `COPY … TO STDOUT` / `COPY … FROM STDIN` with
// FORMAT binary move the raw bytes instead. Each class is a node-postgres "submittable" running one COPY.
// The one place that uses node-postgres's connection and query callbacks (pg pinned to an exact
// version; test/unit/library-internals.test.ts fails if an upgrade changes them).

/** What a submittable uses of node-postgres's connection (its wire-protocol writer). */
interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** "PGCOPY\n\xff\r\n\0": the start of COPY's binary format. */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);

/** What both directions share: one query text, one answer through `callback`, given once. */
abstract class CopySubmittable<T> {
  callback?: (err: Error | null, result?: T) => void;
  #done = false;

  constructor(readonly text: string) {}

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleError(err: Error): void {
    this.finish(err);
  }

  handleCommandComplete(_msg: { text?: string }): void {}
  handleCopyData(_msg: { chunk: Buffer }): void {}

  // A COPY sends none of these; the client may still call them on a protocol surprise.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  protected get done(): boolean {
    return this.#done;
  }

  protected finish(err: Error | null, result?: T): void {
    if (this.#done) return;
    this.#done = true;
    this.callback?.(err, result);
  }
}

/** `text` is a complete `COPY (SELECT one_bytea_column …) TO STDOUT (FORMAT binary)`; it takes no parameters. */
export class BinaryCopyOut extends CopySubmittable<Buffer[]> {
  readonly #chunks: Buffer[] = [];

  override handleCopyData(msg: { chunk: Buffer }): void {
    // A copy: the chunk is a view into the driver's read buffer, which it reuses for later data.
    this.#chunks.push(Buffer.from(msg.chunk));
  }

  handleReadyForQuery(): void {
    if (this.done) return;
    let values: Buffer[];
    try {
      values = parseSingleColumn(Buffer.concat(this.#chunks));
    } catch (err) {
      this.finish(err as Error);
      return;
    }
    this.finish(null, values);
  }

  protected override finish(err: Error | null, values?: Buffer[]): void {
    this.#chunks.length = 0;
    super.finish(err, values);
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

/** Values longer than this are sent as CopyData messages of their own. */
const LARGE_VALUE = 4096;

/** The rows of a binary COPY FROM: each row's values, in the column order of the COPY. */
export type CopyRow = readonly Buffer[];

export class BinaryCopyIn extends CopySubmittable<number> {
  /** The rows the server reports it copied. */
  #rows = 0;
  readonly #data: readonly CopyRow[];

  /** `text` is a complete `COPY table (columns…) FROM STDIN (FORMAT binary)`; `rows` its data. */
  constructor(text: string, rows: readonly CopyRow[]) {
    super(text);
    this.#data = rows;
  }

  handleCopyInResponse(connection: Connection): void {
    // Small pieces (the header, lengths, short values) are gathered into one message; a large value
    // goes out as a message of its own, copied once by the driver and never concatenated.
    let small: Buffer[] = [Buffer.concat([SIGNATURE, Buffer.alloc(8)])];
    const flush = () => {
      if (small.length > 0) connection.sendCopyFromChunk(Buffer.concat(small));
      small = [];
    };
    for (const row of this.#data) {
      row.forEach((value, i) => {
        const prefix = Buffer.allocUnsafe(i === 0 ? 6 : 4);
        if (i === 0) prefix.writeInt16BE(row.length, 0);
        prefix.writeInt32BE(value.length, i === 0 ? 2 : 0);
        small.push(prefix);
        if (value.length <= LARGE_VALUE) small.push(value);
        else {
          flush();
          connection.sendCopyFromChunk(value);
        }
      });
    }
    small.push(Buffer.from([0xff, 0xff]));
    flush();
    connection.endCopyFrom();
  }

  override handleCommandComplete(msg: { text?: string }): void {
    this.#rows = Number(/(\d+)$/.exec(msg.text ?? "")?.[1] ?? 0);
  }

  handleReadyForQuery(): void {
    this.finish(null, this.#rows);
  }
}

/** A BYTEA literal for a COPY, which takes no parameters: hex digits only, so nothing to escape. */
export function byteaLiteral(b: Buffer): string {
  return `'\\x${b.toString("hex")}'::bytea`;
}
