import { describe, expect, it } from "vitest";
import type { AppError } from "../../src/errors.js";
import { type ByteRange, parseRange, segmentsForRange } from "../../src/objects/range.js";

const HUGE = "9".repeat(40);

describe("parseRange", () => {
  it.each<[string, string | undefined, number, ByteRange | null]>([
    ["absent", undefined, 100, null],
    ["first bytes", "bytes=0-0", 100, { start: 0, end: 0 }],
    ["closed range", "bytes=10-19", 100, { start: 10, end: 19 }],
    ["the whole object", "bytes=0-99", 100, { start: 0, end: 99 }],
    ["last byte", "bytes=99-99", 100, { start: 99, end: 99 }],
    ["open-ended", "bytes=90-", 100, { start: 90, end: 99 }],
    ["open-ended from 0", "bytes=0-", 100, { start: 0, end: 99 }],
    ["suffix", "bytes=-10", 100, { start: 90, end: 99 }],
    ["suffix of everything", "bytes=-100", 100, { start: 0, end: 99 }],
    ["suffix longer than the object", "bytes=-500", 100, { start: 0, end: 99 }],
    ["clamped end", "bytes=50-1000", 100, { start: 50, end: 99 }],
    ["leading zeros", "bytes=007-0010", 100, { start: 7, end: 10 }],
    ["case-insensitive unit", "Bytes=1-2", 100, { start: 1, end: 2 }],
    ["outer whitespace", "  bytes=1-2 ", 100, { start: 1, end: 2 }],
    ["whitespace around the range", "bytes= 1-2\t", 100, { start: 1, end: 2 }],
    ["empty list elements", "bytes=,1-2,", 100, { start: 1, end: 2 }],
    ["huge end is clamped", `bytes=5-${HUGE}`, 100, { start: 5, end: 99 }],
    ["huge suffix is everything", `bytes=-${HUGE}`, 100, { start: 0, end: 99 }],
    ["end beyond safe integers", "bytes=0-9007199254740993", 100, { start: 0, end: 99 }],
    ["large but safe object", "bytes=5368709119-", 5368709120, { start: 5368709119, end: 5368709119 }],
    // Ignored (full 200): not a syntactically valid single byte range.
    ["empty header", "", 100, null],
    ["no equals sign", "bytes 0-1", 100, null],
    ["unknown unit", "items=0-1", 100, null],
    ["space before =", "bytes =0-1", 100, null],
    ["empty range set", "bytes=", 100, null],
    ["bare dash", "bytes=-", 100, null],
    ["no dash", "bytes=5", 100, null],
    ["last before first", "bytes=20-10", 100, null],
    ["huge last before huger first", `bytes=${HUGE}9-${HUGE}`, 100, null],
    ["negative first", "bytes=-5-10", 100, null],
    ["double dash", "bytes=--5", 100, null],
    ["three parts", "bytes=1-2-3", 100, null],
    ["plus sign", "bytes=+1-2", 100, null],
    ["decimal", "bytes=1.5-2", 100, null],
    ["hex", "bytes=0x1-2", 100, null],
    ["exponent", "bytes=1e2-", 100, null],
    ["whitespace inside the range", "bytes=1 - 2", 100, null],
    ["non-ASCII digits", "bytes=\u0661-\u0662", 100, null],
    ["multi-range", "bytes=0-1,5-6", 100, null],
    ["multi-range with suffix", "bytes=0-1, -5", 100, null],
    ["multi-range all unsatisfiable", "bytes=200-300,400-", 100, null],
    ["invalid even for an empty object", "bytes=abc", 0, null],
    ["multi-range of an empty object", "bytes=0-1,2-3", 0, null],
  ])("%s: %j of %i", (_name, header, size, expected) => {
    expect(parseRange(header, size)).toStrictEqual(expected);
  });

  it.each<[string, string, number]>([
    ["start at size", "bytes=100-", 100],
    ["start beyond size", "bytes=150-200", 100],
    ["zero-length suffix", "bytes=-0", 100],
    ["huge start", `bytes=${HUGE}-`, 100],
    ["huge start and end", `bytes=${HUGE}-${HUGE}`, 100],
    ["start just beyond safe integers", "bytes=9007199254740993-", 100],
    ["empty object, from 0", "bytes=0-", 0],
    ["empty object, closed", "bytes=0-0", 0],
    ["empty object, suffix", "bytes=-1", 0],
    ["empty object, zero suffix", "bytes=-0", 0],
  ])("%s → 416", (_name, header, size) => {
    let err: AppError | undefined;
    try {
      parseRange(header, size);
    } catch (e) {
      err = e as AppError;
    }
    expect(err?.code).toBe("range_not_satisfiable");
    expect(err?.status).toBe(416);
    expect(err?.headers).toStrictEqual({ "Content-Range": `bytes */${size}` });
  });
});

describe("segmentsForRange", () => {
  it.each<[ByteRange, number, { first: number; last: number; skip: number }]>([
    [{ start: 0, end: 0 }, 64, { first: 0, last: 0, skip: 0 }],
    [{ start: 0, end: 63 }, 64, { first: 0, last: 0, skip: 0 }],
    [{ start: 0, end: 64 }, 64, { first: 0, last: 1, skip: 0 }],
    [{ start: 63, end: 64 }, 64, { first: 0, last: 1, skip: 63 }],
    [{ start: 64, end: 127 }, 64, { first: 1, last: 1, skip: 0 }],
    [{ start: 130, end: 300 }, 64, { first: 2, last: 4, skip: 2 }],
    [{ start: 65536, end: 65536 }, 65536, { first: 1, last: 1, skip: 0 }],
    [{ start: 5368709119, end: 5368709119 }, 65536, { first: 81919, last: 81919, skip: 65535 }],
  ])("%j with %i-byte segments", (r, seg, expected) => {
    expect(segmentsForRange(r, seg)).toStrictEqual(expected);
  });
});
