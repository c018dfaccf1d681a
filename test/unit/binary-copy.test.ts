// The parser of COPY's binary format used to read BYTEA segments from PostgreSQL.
import { describe, expect, it } from "vitest";
import { byteaLiteral, parseSingleColumn } from "../../src/store/postgres/binary-copy.js";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

function copyStream(values: (Buffer | null)[], opts: { fields?: number; extension?: Buffer } = {}): Buffer {
  const ext = opts.extension ?? Buffer.alloc(0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(ext.length, 4);
  const parts = [SIGNATURE, head, ext];
  for (const v of values) {
    const h = Buffer.alloc(6);
    h.writeInt16BE(opts.fields ?? 1, 0);
    h.writeInt32BE(v === null ? -1 : v.length, 2);
    parts.push(h, v ?? Buffer.alloc(0));
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

describe("binary COPY parsing", () => {
  it("returns the single column's values in order, byte for byte", () => {
    const values = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.alloc(70_000, 7)];
    expect(parseSingleColumn(copyStream(values))).toEqual(values);
    expect(parseSingleColumn(copyStream([], { extension: Buffer.from("xyz") }))).toEqual([]);
    expect(parseSingleColumn(copyStream([Buffer.from("a")], { extension: Buffer.alloc(5) }))).toEqual([
      Buffer.from("a"),
    ]);
  });

  it("refuses a wrong signature, truncation, NULLs and extra columns", () => {
    const good = copyStream([Buffer.from("abc")]);
    expect(() =>
      parseSingleColumn(Buffer.from("PGCOPZ\n\xff\r\n\0\0\0\0\0\0\0\0\0\xff\xff", "latin1")),
    ).toThrow(/no signature/);
    for (let cut = good.length - 1; cut > SIGNATURE.length + 8; cut--)
      expect(() => parseSingleColumn(good.subarray(0, cut))).toThrow(/malformed/);
    expect(() => parseSingleColumn(copyStream([null]))).toThrow(/NULL/);
    expect(() => parseSingleColumn(copyStream([Buffer.from("a")], { fields: 2 }))).toThrow(/2 columns/);
  });

  it("writes BYTEA literals as hex digits only", () => {
    expect(byteaLiteral(Buffer.from([0, 0x27, 0x5c, 0xff]))).toBe("'\\x00275cff'::bytea");
  });
});
