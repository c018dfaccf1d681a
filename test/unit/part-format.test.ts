// Format version 2: the segments of one part of a multipart object. Each part write is its own
// STREAM, bound to the upload and to its part number, under the upload's one data key. Under both
// suites (suite 2 derives a key per part write from that data key).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createSegmentCipher,
  FORMAT_VERSION_PART,
  MAX_PART_NUMBER,
  type SegmentCipher,
  type SegmentContext,
  SUITE_AES256GCM,
  SUITE_XCHACHA20_POLY1305,
  segmentCount,
} from "../../src/crypto/segment-format.js";
import { IntegrityError } from "../../src/errors.js";

const SEG = 64;
const dek = Buffer.alloc(32, 0x33);
const upload = Buffer.alloc(16, 0xa1);

function partCtxOf(
  suite: number,
  number: number,
  writeByte: number,
  over: Partial<SegmentContext> = {},
): SegmentContext {
  return {
    formatVersion: FORMAT_VERSION_PART,
    suite,
    segmentSize: SEG,
    owner: "u_alice",
    objectId: "backup/archive.tar",
    writeId: Buffer.alloc(16, writeByte),
    part: { uploadWriteId: upload, number },
    ...over,
  };
}

function data(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) % 251;
  return b;
}

function seal(c: SegmentCipher, plain: Buffer): Buffer[] {
  const count = segmentCount(plain.length, SEG);
  return Array.from({ length: count }, (_, i) =>
    c.seal(i, i === count - 1, plain.subarray(i * SEG, (i + 1) * SEG)),
  );
}

function open(c: SegmentCipher, segs: Buffer[]): Buffer {
  return Buffer.concat(segs.map((s, i) => c.open(i, i === segs.length - 1, s)));
}

describe.each([
  { name: "suite 1, XChaCha20-Poly1305", suite: SUITE_XCHACHA20_POLY1305 },
  { name: "suite 2, AES-256-GCM", suite: SUITE_AES256GCM },
])("part segments (format version 2), $name", ({ suite }) => {
  const partCtx = (number: number, writeByte: number, over: Partial<SegmentContext> = {}) =>
    partCtxOf(suite, number, writeByte, over);

  it("round-trip at every size around a segment boundary", () => {
    for (const n of [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 5]) {
      const c = createSegmentCipher(dek, partCtx(1, 0x01));
      expect(open(c, seal(c, data(n, n))).equals(data(n, n))).toBe(true);
    }
  });

  it("two part writes under one data key never share a (key, nonce) pair, retries included", () => {
    const same = data(2 * SEG, 9);
    const writes = [partCtx(1, 0x01), partCtx(2, 0x02), partCtx(1, 0x03)];
    const sealed = writes.map((ctx) => seal(createSegmentCipher(dek, ctx), same));
    for (const [x, y] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      for (let i = 0; i < same.length / SEG; i++) expect(sealed[x]![i]!.equals(sealed[y]![i]!)).toBe(false);
    // What keeps them apart: suite 1 puts the part write id in the nonce under the DEK, suite 2
    // derives a key per part write (its nonce holds only the index and the last flag).
    const keyAndNonce = (ctx: SegmentContext) => {
      const c = createSegmentCipher(dek, ctx);
      const key = Buffer.alloc(32);
      const nonce = Buffer.alloc(24);
      c.copyKey(key);
      c.openParameters(0, false, SEG + 16, nonce, Buffer.alloc(37));
      return `${key.toString("hex")}/${nonce.subarray(0, c.nonceBytes).toString("hex")}`;
    };
    expect(new Set(writes.map(keyAndNonce)).size).toBe(3);
  });

  it.each<[string, SegmentContext]>([
    ["another part number (reordered parts)", partCtx(2, 0x01)],
    ["another part write (a retried upload of the part)", partCtx(1, 0x09)],
    [
      "another upload (a part of another object)",
      partCtx(1, 0x01, { part: { uploadWriteId: Buffer.alloc(16, 0xb2), number: 1 } }),
    ],
    ["another object id", partCtx(1, 0x01, { objectId: "backup/other.tar" })],
    ["another owner", partCtx(1, 0x01, { owner: "u_bob" })],
    [
      "a whole object's format (version 1, same write id)",
      { ...partCtx(1, 0x01), formatVersion: 1, part: undefined },
    ],
    ["another segment size (the row's clear column changed)", partCtx(1, 0x01, { segmentSize: SEG * 2 })],
  ])("a part's segments fail when opened as %s", (_name, wrong) => {
    const segs = seal(createSegmentCipher(dek, partCtx(1, 0x01)), data(2 * SEG + 3, 1));
    const reader = createSegmentCipher(dek, wrong);
    expect(() => open(reader, segs)).toThrow(IntegrityError);
  });

  it("a whole object's segments fail when opened as a part of the same write", () => {
    const whole = { ...partCtx(1, 0x01), formatVersion: 1, part: undefined };
    const segs = seal(createSegmentCipher(dek, whole), data(2 * SEG + 3, 4));
    expect(() => open(createSegmentCipher(dek, partCtx(1, 0x01)), segs)).toThrow(IntegrityError);
  });

  it("dropping a part's last segment is detected (STREAM within the part)", () => {
    const c = createSegmentCipher(dek, partCtx(3, 0x03));
    const segs = seal(c, data(3 * SEG, 2));
    expect(() => open(c, segs.slice(0, 2))).toThrow(IntegrityError);
  });

  it.each<[string, Partial<SegmentContext>]>([
    ["part number 0", { part: { uploadWriteId: upload, number: 0 } }],
    ["part number above 10,000", { part: { uploadWriteId: upload, number: MAX_PART_NUMBER + 1 } }],
    ["a short upload write id", { part: { uploadWriteId: Buffer.alloc(15), number: 1 } }],
  ])("%s → IntegrityError", (_name, over) => {
    expect(() => createSegmentCipher(dek, partCtx(1, 0x01, over))).toThrow(IntegrityError);
  });
});

// docs/FORMAT.md, "Test vectors": part 2 of an upload, under each suite.
describe("part test vectors", () => {
  it.each([
    [1, "921f83dcd20c361f29c7e4f2d0c984a380c35d01a76d761478e2b3d4ea38c6bf"],
    [2, "5ec3eaa083f68dd13523b2b176d3939f5c64729a7ddbea9a746e36ac38d4f5aa"],
  ])("suite %i matches the documented vector", (suite, sha256) => {
    const ctx: SegmentContext = {
      formatVersion: 2,
      suite,
      segmentSize: 65536,
      owner: "u_alice",
      objectId: "backup/archive.tar",
      writeId: Buffer.from("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf", "hex"),
      part: { uploadWriteId: Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex"), number: 2 },
    };
    const key = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
    const plain = Buffer.alloc(65537);
    for (let i = 0; i < plain.length; i++) plain[i] = i % 251;
    const c = createSegmentCipher(key, ctx);
    const segs = [c.seal(0, false, plain.subarray(0, 65536)), c.seal(1, true, plain.subarray(65536))];
    expect(createHash("sha256").update(Buffer.concat(segs)).digest("hex")).toBe(sha256);
  });
});
