import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type AppError, IntegrityError } from "../../src/errors.js";
import {
  checkManifest,
  type Manifest,
  MIN_PART_BYTES,
  manifestOf,
  multipartEtag,
  partsForRange,
  type UploadedPart,
} from "../../src/objects/multipart-manifest.js";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const part = (number: number, size: number): UploadedPart => ({
  number,
  writeId: Buffer.alloc(16, number),
  size,
  md5: md5(`part ${number}`),
});
const uploaded = new Map([1, 2, 3, 5].map((n) => [n, part(n, n === 5 ? 10 : MIN_PART_BYTES)]));
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as AppError).code;
  }
};

describe("completing a multipart upload", () => {
  it("joins the named parts in order, any subset, quoted or not", () => {
    const m = manifestOf(
      [
        { number: 1, etag: `"${md5("part 1")}"` },
        { number: 3, etag: md5("part 3").toUpperCase() },
        { number: 5, etag: `"${md5("part 5")}"` },
      ],
      uploaded,
    );
    expect(m.parts.map((p) => [p.n, p.size])).toEqual([
      [1, MIN_PART_BYTES],
      [3, MIN_PART_BYTES],
      [5, 10],
    ]);
    expect(m.parts[0]!.w).toBe("01".repeat(16));
  });

  it.each<[string, { number: number; etag: string }[], string]>([
    ["no part", [], "invalid_part"],
    ["a part never uploaded", [{ number: 4, etag: md5("part 4") }], "invalid_part"],
    ["a wrong ETag", [{ number: 1, etag: md5("other") }], "invalid_part"],
    [
      "descending",
      [
        { number: 2, etag: md5("part 2") },
        { number: 1, etag: md5("part 1") },
      ],
      "invalid_part_order",
    ],
    [
      "repeated",
      [
        { number: 1, etag: md5("part 1") },
        { number: 1, etag: md5("part 1") },
      ],
      "invalid_part_order",
    ],
    ["number 0", [{ number: 0, etag: "x" }], "invalid_part"],
    ["number 10001", [{ number: 10001, etag: "x" }], "invalid_part"],
    [
      "a small part that is not the last",
      [
        { number: 5, etag: md5("part 5") },
        { number: 6, etag: md5("part 6") },
      ],
      "entity_too_small",
    ],
  ])("refuses %s", (_name, req, code) => {
    const withSix = new Map(uploaded).set(6, part(6, 1));
    expect(codeOf(() => manifestOf(req, withSix))).toBe(code);
  });

  it("makes S3's ETag: MD5 of the binary part MD5s, dash, count", () => {
    const parts = [{ md5: md5("a") }, { md5: md5("b") }];
    const expected = createHash("md5")
      .update(Buffer.concat([Buffer.from(md5("a"), "hex"), Buffer.from(md5("b"), "hex")]))
      .digest("hex");
    expect(multipartEtag(parts)).toBe(`${expected}-2`);
  });
});

describe("reading a multipart object", () => {
  const m: Manifest = {
    v: 1,
    parts: [
      { n: 1, w: "01".repeat(16), size: 10, md5: "x" },
      { n: 2, w: "02".repeat(16), size: 10, md5: "x" },
      { n: 4, w: "04".repeat(16), size: 5, md5: "x" },
    ],
  };

  it("finds the parts a range covers, with offsets inside each", () => {
    expect(partsForRange(m, 0, 24).map((s) => [s.part.n, s.start, s.end])).toEqual([
      [1, 0, 9],
      [2, 0, 9],
      [4, 0, 4],
    ]);
    expect(partsForRange(m, 9, 10).map((s) => [s.part.n, s.start, s.end])).toEqual([
      [1, 9, 9],
      [2, 0, 0],
    ]);
    expect(partsForRange(m, 20, 20).map((s) => [s.part.n, s.start, s.end])).toEqual([[4, 0, 0]]);
    expect(partsForRange(m, 12, 15).map((s) => [s.part.n, s.start, s.end])).toEqual([[2, 2, 5]]);
  });

  it("accepts only a consistent manifest of the object's size", () => {
    expect(checkManifest(m, 25)).toBe(m);
    expect(() => checkManifest(m, 26)).toThrow(IntegrityError);
    for (const bad of [
      null,
      { v: 2, parts: m.parts },
      { v: 1, parts: [] },
      { v: 1, parts: [m.parts[1], m.parts[0]] },
      { v: 1, parts: [{ ...m.parts[0], w: "zz" }] },
      { v: 1, parts: [{ ...m.parts[0], size: -1 }] },
    ])
      expect(() => checkManifest(bad, 10)).toThrow(IntegrityError);
  });
});
