import { createCipheriv, createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  SEGMENT_SIZE,
  type SegmentCipher,
  type SegmentContext,
  SUITE_AES256GCM,
  SUITE_XCHACHA20_POLY1305,
  segmentCount,
  TAG_BYTES,
} from "../../src/crypto/segment-format.js";
import { IntegrityError } from "../../src/errors.js";

const SMALL = 64;

function baseCtx(over: Partial<SegmentContext> = {}): SegmentContext {
  return {
    formatVersion: FORMAT_VERSION,
    suite: SUITE_XCHACHA20_POLY1305,
    segmentSize: SMALL,
    owner: "u_alice",
    objectId: "docs/report.pdf",
    writeId: Buffer.alloc(16, 0xa5),
    ...over,
  };
}

const dekA = Buffer.alloc(32, 0x11);
const dekB = Buffer.alloc(32, 0x22);

/** Byte i of the documented test pattern: i mod 251. */
function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function sealAll(cipher: SegmentCipher, plaintext: Buffer, segmentSize: number): Buffer[] {
  const count = segmentCount(plaintext.length, segmentSize);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out.push(cipher.seal(i, i === count - 1, plaintext.subarray(i * segmentSize, (i + 1) * segmentSize)));
  }
  return out;
}

/** Opens segments as a reader does: the last stored segment is opened as the last one. */
/** Copies of `sealed`, each with one bit flipped: one copy per byte. */
function* oneByteFlipped(sealed: Buffer): Generator<Buffer> {
  for (let byte = 0; byte < sealed.length; byte++) {
    const copy = Buffer.from(sealed);
    copy[byte]! ^= 0x40;
    yield copy;
  }
}

function openAll(cipher: SegmentCipher, segments: Buffer[]): Buffer {
  return Buffer.concat(segments.map((s, i) => cipher.open(i, i === segments.length - 1, s)));
}

describe("segmentCount", () => {
  it.each([
    [0, 64, 1],
    [1, 64, 1],
    [63, 64, 1],
    [64, 64, 1],
    [65, 64, 2],
    [128, 64, 2],
    [129, 64, 3],
    [65537, SEGMENT_SIZE, 2],
  ])("size %i / %i → %i segments", (size, seg, n) => {
    expect(segmentCount(size, seg)).toBe(n);
  });
});

const SUITES = [
  { name: "suite 1, XChaCha20-Poly1305", suite: SUITE_XCHACHA20_POLY1305 },
  { name: "suite 2, AES-256-GCM", suite: SUITE_AES256GCM },
];

// Every round trip and every kind of tampering, under each suite.
describe.each(SUITES)("$name", ({ suite }) => {
  const ctxOf = (over: Partial<SegmentContext> = {}) => baseCtx({ suite, ...over });

  describe("round trip", () => {
    const sizes = [0, 1];
    for (const n of [1, 2, 3]) sizes.push(n * SMALL - 1, n * SMALL, n * SMALL + 1);
    it.each(sizes)("%i bytes", (size) => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      const plain = pattern(size);
      const sealed = sealAll(cipher, plain, SMALL);
      expect(sealed.length).toBe(segmentCount(size, SMALL));
      expect(sealed.reduce((n, s) => n + s.length, 0)).toBe(size + sealed.length * TAG_BYTES);
      expect(openAll(cipher, sealed).equals(plain)).toBe(true);
    });

    it("works with the default segment size and independent cipher instances", () => {
      const plain = pattern(2 * SEGMENT_SIZE + 5);
      const sealed = sealAll(
        createSegmentCipher(dekA, ctxOf({ segmentSize: SEGMENT_SIZE })),
        plain,
        SEGMENT_SIZE,
      );
      const reader = createSegmentCipher(dekA, ctxOf({ segmentSize: SEGMENT_SIZE }));
      expect(openAll(reader, sealed).equals(plain)).toBe(true);
    });

    it("opens any single segment on its own (range reads)", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      const plain = pattern(3 * SMALL + 7);
      const sealed = sealAll(cipher, plain, SMALL);
      expect(cipher.open(2, false, sealed[2]!).equals(plain.subarray(2 * SMALL, 3 * SMALL))).toBe(true);
      expect(cipher.open(3, true, sealed[3]!).equals(plain.subarray(3 * SMALL))).toBe(true);
    });

    it("openInPlace decrypts over the sealed buffer and agrees with open at every size", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      for (const n of [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 3 * SMALL + 1]) {
        const plain = pattern(n);
        const sealed = sealAll(cipher, plain, SMALL);
        const viaOpen = openAll(cipher, sealed);
        const parts = sealed.map((s, i) => {
          const out = cipher.openInPlace(i, i === sealed.length - 1, s);
          // A view of the sealed buffer's own memory: nothing allocated.
          expect(out.buffer).toBe(s.buffer);
          expect(out.byteOffset).toBe(s.byteOffset);
          return out;
        });
        expect(Buffer.concat(parts).equals(plain)).toBe(true);
        expect(viaOpen.equals(plain)).toBe(true);
      }
    });

    it("openInPlace rejects every single-bit flip and never yields unauthenticated bytes", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      const sealed = cipher.seal(0, true, pattern(SMALL - 5));
      for (const copy of oneByteFlipped(sealed)) {
        expect(() => cipher.openInPlace(0, true, copy)).toThrow(IntegrityError);
        // The plaintext part holds zeros, not a decryption of the forged bytes.
        expect(copy.subarray(0, SMALL - 5).equals(Buffer.alloc(SMALL - 5))).toBe(true);
      }
    });

    it("openInto gathers consecutive segments into one buffer and agrees with open at every size", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      for (const n of [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 3 * SMALL + 1]) {
        const plain = pattern(n);
        const sealed = sealAll(cipher, plain, SMALL);
        const before = sealed.map((s) => Buffer.from(s));
        const out = Buffer.alloc(n + 7, 0xee);
        let filled = 0;
        sealed.forEach((s, i) => {
          const part = cipher.openInto(i, i === sealed.length - 1, s, out.subarray(filled));
          // A view of `out` where the segment belongs: nothing allocated, nothing copied.
          expect(part.buffer).toBe(out.buffer);
          expect(part.byteOffset).toBe(out.byteOffset + filled);
          filled += part.length;
        });
        expect(filled).toBe(n);
        expect(out.subarray(0, n).equals(plain)).toBe(true);
        expect(out.subarray(n).equals(Buffer.alloc(7, 0xee))).toBe(true);
        // The sealed buffers are left as they were.
        expect(sealed.every((s, i) => s.equals(before[i]!))).toBe(true);
      }
    });

    it("openInto rejects every single-bit flip, leaving zeros, and refuses an output too small", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      const sealed = cipher.seal(0, true, pattern(SMALL - 5));
      for (const copy of oneByteFlipped(sealed)) {
        const out = Buffer.alloc(SMALL, 0xee);
        expect(() => cipher.openInto(0, true, copy, out)).toThrow(IntegrityError);
        expect(out.subarray(0, SMALL - 5).equals(Buffer.alloc(SMALL - 5))).toBe(true);
      }
      expect(() => cipher.openInto(0, true, sealed, Buffer.alloc(SMALL - 6))).toThrow(RangeError);
    });

    it("uses fresh output buffers (callers may keep them)", () => {
      const cipher = createSegmentCipher(dekA, ctxOf());
      const a = cipher.seal(0, false, pattern(SMALL));
      const copy = Buffer.from(a);
      cipher.seal(1, true, pattern(3));
      expect(a.equals(copy)).toBe(true);
    });
  });

  describe("tampering is detected", () => {
    const plain = pattern(2 * SMALL + 10);
    const cipher = createSegmentCipher(dekA, ctxOf());
    const sealed = sealAll(cipher, plain, SMALL);

    it("every single-bit flip of every stored byte", () => {
      let checked = 0;
      for (let s = 0; s < sealed.length; s++) {
        for (let byte = 0; byte < sealed[s]!.length; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            const copy = sealed.map((x) => Buffer.from(x));
            copy[s]![byte]! ^= 1 << bit;
            expect(() => openAll(cipher, copy)).toThrow(IntegrityError);
            checked++;
          }
        }
      }
      expect(checked).toBe((2 * (SMALL + TAG_BYTES) + 10 + TAG_BYTES) * 8);
    });

    it("swapping two segments", () => {
      const four = sealAll(cipher, pattern(4 * SMALL), SMALL);
      const swapped = [four[1]!, four[0]!, four[2]!, four[3]!];
      expect(() => openAll(cipher, swapped)).toThrow(IntegrityError);
      expect(() => cipher.open(0, false, four[1]!)).toThrow(IntegrityError);
    });

    it("dropping the last segment (the new last one fails as non-last)", () => {
      const full = sealAll(cipher, pattern(3 * SMALL), SMALL);
      expect(() => openAll(cipher, full.slice(0, 2))).toThrow(IntegrityError);
      expect(() => cipher.open(1, true, full[1]!)).toThrow(IntegrityError);
    });

    it("dropping segments down to the first", () => {
      expect(() => openAll(cipher, sealed.slice(0, 1))).toThrow(IntegrityError);
    });

    it("appending a segment after the last", () => {
      const extra = cipher.seal(2, false, pattern(SMALL));
      expect(() => openAll(cipher, [...sealed, extra])).toThrow(IntegrityError);
      // Even a segment sealed as last at the next index cannot follow the real last segment.
      const extraLast = cipher.seal(3, true, pattern(5));
      expect(() => openAll(cipher, [...sealed, extraLast])).toThrow(IntegrityError);
      // A copy of the real last segment appended after itself.
      expect(() => openAll(cipher, [...sealed, sealed[2]!])).toThrow(IntegrityError);
    });

    it("moving a segment between two objects", () => {
      const other = createSegmentCipher(dekA, ctxOf({ objectId: "docs/other.pdf" }));
      const otherSealed = sealAll(other, pattern(2 * SMALL + 10), SMALL);
      expect(() => openAll(cipher, [otherSealed[0]!, sealed[1]!, sealed[2]!])).toThrow(IntegrityError);
      expect(() => openAll(other, [otherSealed[0]!, sealed[1]!, otherSealed[2]!])).toThrow(IntegrityError);
    });

    it("moving a segment between two writes of the same object", () => {
      const second = createSegmentCipher(dekA, ctxOf({ writeId: Buffer.alloc(16, 0x5a) }));
      const secondSealed = sealAll(second, plain, SMALL);
      expect(() => openAll(cipher, [sealed[0]!, secondSealed[1]!, sealed[2]!])).toThrow(IntegrityError);
      expect(() => openAll(second, sealed)).toThrow(IntegrityError);
    });

    it.each<[string, Partial<SegmentContext>]>([
      ["owner", { owner: "u_mallory" }],
      ["object id", { objectId: "docs/report.pdf2" }],
      ["write id", { writeId: Buffer.from("a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a4", "hex") }],
      ["segment size", { segmentSize: SMALL + 16 }],
    ])("a different %s", (_name, over) => {
      const wrong = createSegmentCipher(dekA, ctxOf(over));
      expect(() => wrong.open(0, false, sealed[0]!)).toThrow(IntegrityError);
      expect(() => openAll(wrong, sealed)).toThrow(IntegrityError);
    });

    it("owner and object id fields cannot be shifted into each other", () => {
      const a = createSegmentCipher(dekA, ctxOf({ owner: "ab", objectId: "c" }));
      const b = createSegmentCipher(dekA, ctxOf({ owner: "a", objectId: "bc" }));
      const s = a.seal(0, true, pattern(3));
      expect(() => b.open(0, true, s)).toThrow(IntegrityError);
    });

    it("a wrong DEK", () => {
      expect(() => openAll(createSegmentCipher(dekB, ctxOf()), sealed)).toThrow(IntegrityError);
    });

    it.each([
      ["empty", Buffer.alloc(0)],
      ["shorter than a tag", Buffer.alloc(TAG_BYTES - 1)],
      ["a bare tag as a later last segment", Buffer.alloc(TAG_BYTES)],
      ["longer than a segment", Buffer.alloc(SMALL + TAG_BYTES + 1)],
    ])("a stored segment that is %s", (_name, bad) => {
      expect(() => cipher.open(2, true, bad)).toThrow(IntegrityError);
      expect(() => cipher.open(1, false, bad)).toThrow(IntegrityError);
    });

    it("a short non-last segment", () => {
      expect(() => cipher.open(0, false, sealed[2]!)).toThrow(IntegrityError);
    });

    it("an index outside u32", () => {
      expect(() => cipher.open(2 ** 32, true, sealed[2]!)).toThrow(IntegrityError);
      expect(() => cipher.open(-1, true, sealed[2]!)).toThrow(IntegrityError);
      expect(() => cipher.open(1.5, true, sealed[2]!)).toThrow(IntegrityError);
    });
  });

  describe("context validation", () => {
    it.each<[string, Partial<SegmentContext>]>([
      ["unknown format version", { formatVersion: 3 }],
      ["version 2 without its part", { formatVersion: 2 }],
      ["version 1 with a part", { part: { uploadWriteId: Buffer.alloc(16), number: 1 } }],
      ["unknown suite", { suite: 3 }],
      ["suite 0", { suite: 0 }],
      ["segment size below 16", { segmentSize: 15 }],
      ["fractional segment size", { segmentSize: 64.5 }],
      ["short write id", { writeId: Buffer.alloc(15) }],
    ])("%s → IntegrityError", (_name, over) => {
      expect(() => createSegmentCipher(dekA, ctxOf(over))).toThrow(IntegrityError);
    });

    it("accepts the smallest segment size", () => {
      const c = createSegmentCipher(dekA, ctxOf({ segmentSize: 16 }));
      expect(openAll(c, sealAll(c, pattern(40), 16)).equals(pattern(40))).toBe(true);
    });

    it("rejects a DEK of the wrong length", () => {
      expect(() => createSegmentCipher(Buffer.alloc(31), ctxOf())).toThrow(IntegrityError);
    });

    it("seal refuses non-canonical layouts", () => {
      const c = createSegmentCipher(dekA, ctxOf());
      expect(() => c.seal(0, false, pattern(SMALL - 1))).toThrow(RangeError);
      expect(() => c.seal(0, true, pattern(SMALL + 1))).toThrow(RangeError);
      expect(() => c.seal(1, true, Buffer.alloc(0))).toThrow(RangeError);
      expect(() => c.seal(2 ** 32, true, pattern(1))).toThrow(RangeError);
      expect(c.seal(2 ** 32 - 1, true, pattern(1)).length).toBe(1 + TAG_BYTES);
    });
  });
});

// The vectors published in docs/FORMAT.md, "Test vectors"; keep both in step.
const VECTOR_DEK = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const VECTOR_CTX: SegmentContext = {
  formatVersion: 1,
  suite: 1,
  segmentSize: 65536,
  owner: "u_alice",
  objectId: "docs/report.pdf",
  writeId: Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex"),
};
const VECTORS: { name: string; plaintext: Buffer; segments: number; sha256: string; head: string }[] = [
  {
    name: "empty",
    plaintext: Buffer.alloc(0),
    segments: 1,
    sha256: "cefe17262a42f76f5684d7d0e950325fc5efc00c34f28f80f301c2bf84826a2d",
    head: "60539ed7637cebf4f000b4428affd4e9",
  },
  {
    name: "one byte 0x61",
    plaintext: Buffer.from("a"),
    segments: 1,
    sha256: "861f2c48a122b246e37892a3a28a73736d74f3751140438ee1e441126fe75b32",
    head: "6388d6cbb72c0d6e5b885ef2a673596512",
  },
  {
    name: "65537 bytes of i mod 251",
    plaintext: pattern(65537),
    segments: 2,
    sha256: "c6f4c27b442fdf4417c00d356b8a9e8cfa5d0dfb7ac08b029d4e0b6fcbe628c3",
    head: "14cd4449fb4c3dcd34f6586056d543be34fb001cecf773c9704da43bc31fac40",
  },
];

/** The same plaintexts under suite 2, AES-256-GCM. */
const VECTOR_CTX_GCM: SegmentContext = { ...VECTOR_CTX, suite: 2 };
const VECTORS_GCM: typeof VECTORS = [
  {
    name: "empty",
    plaintext: Buffer.alloc(0),
    segments: 1,
    sha256: "364c28813af20b4627f5308d4fe227c17f2ade64574607462040a9135707f86b",
    head: "1be30565a9e87ee1f767f0bfb762bbee",
  },
  {
    name: "one byte 0x61",
    plaintext: Buffer.from("a"),
    segments: 1,
    sha256: "65626a42008df82071f1be59c7e102d898c1eedab48c4140a4eb0d693ffc4cec",
    head: "3f94fd7a3c0b2c3bcf36be9ae33f0d5156",
  },
  {
    name: "65537 bytes of i mod 251",
    plaintext: pattern(65537),
    segments: 2,
    sha256: "7db919f06743aa1417792c3c8432fcb926ab2ef07c75cea0762611a1a190a97b",
    head: "072d73972c049091cf98e733a46abf226c82a74cbdb50c1a601323879a02f6c8",
  },
];

describe("test vectors (docs/FORMAT.md)", () => {
  it.each([
    ...VECTORS.map((v) => ({ ...v, ctx: VECTOR_CTX, suiteName: "suite 1" })),
    ...VECTORS_GCM.map((v) => ({ ...v, ctx: VECTOR_CTX_GCM, suiteName: "suite 2" })),
  ])("$suiteName: $name", ({ plaintext, segments, sha256, head, ctx }) => {
    const cipher = createSegmentCipher(VECTOR_DEK, ctx);
    const sealed = sealAll(cipher, plaintext, ctx.segmentSize);
    expect(sealed.length).toBe(segments);
    const all = Buffer.concat(sealed);
    expect(createHash("sha256").update(all).digest("hex")).toBe(sha256);
    expect(sealed[0]!.subarray(0, 32).toString("hex")).toBe(head);
    expect(openAll(cipher, sealed).equals(plaintext)).toBe(true);
  });

  // An independent implementation of the documented nonce and AD (HChaCha20 here, ChaCha20-Poly1305
  // from OpenSSL) must produce the same bytes as the module.
  it("matches an independent XChaCha20-Poly1305 over the documented nonce and AD", () => {
    const plaintext = pattern(65537);
    const sealed = sealAll(createSegmentCipher(VECTOR_DEK, VECTOR_CTX), plaintext, 65536);
    const prefix = documentedAdPrefix(VECTOR_CTX);
    expect(prefix.toString("hex")).toBe("f1973828c617886474c0cfe66a5b48ab4e08aafbe2fa87580a3047ee019b54db");
    sealed.forEach((segment, index) => {
      const last = index === sealed.length - 1;
      const nonce = Buffer.concat([VECTOR_CTX.writeId, u32(index), Buffer.of(last ? 1 : 0), Buffer.alloc(3)]);
      const ad = Buffer.concat([prefix, u32(index), Buffer.of(last ? 1 : 0)]);
      const m = plaintext.subarray(index * 65536, (index + 1) * 65536);
      expect(xchachaSeal(VECTOR_DEK, nonce, ad, m).equals(segment)).toBe(true);
    });
  });

  // The same for suite 2: the key derived by HKDF-Expand written out with HMAC, the 12-byte nonce
  // and the AD exactly as documented, AES-256-GCM straight from node:crypto.
  it("matches AES-256-GCM over the documented key derivation, nonce and AD", () => {
    const plaintext = pattern(65537);
    const cipher = createSegmentCipher(VECTOR_DEK, VECTOR_CTX_GCM);
    const sealed = sealAll(cipher, plaintext, 65536);
    const prefix = documentedAdPrefix(VECTOR_CTX_GCM);
    expect(prefix.toString("hex")).toBe("9e1431bd3e15a3a7d7729cf9edb12ff726142451c8f05ca6973abfbc948b8fe7");
    const key = documentedGcmKey(VECTOR_DEK, prefix);
    expect(key.toString("hex")).toBe("b174691548553737f1ae7ecc0205aab2aeb53369c34f317fe12d80168b4030b3");
    const copied = Buffer.alloc(32);
    cipher.copyKey(copied);
    expect(copied.equals(key)).toBe(true);
    sealed.forEach((segment, index) => {
      const last = index === sealed.length - 1;
      const nonce = Buffer.concat([u32(index), Buffer.of(last ? 1 : 0), Buffer.alloc(7)]);
      const ad = Buffer.concat([prefix, u32(index), Buffer.of(last ? 1 : 0)]);
      const m = plaintext.subarray(index * 65536, (index + 1) * 65536);
      const c = createCipheriv("aes-256-gcm", key, nonce);
      c.setAAD(ad);
      const expected = Buffer.concat([c.update(m), c.final(), c.getAuthTag()]);
      expect(expected.equals(segment)).toBe(true);
    });
  });
});

describe("the two suites side by side", () => {
  const ctx1 = baseCtx({ suite: SUITE_XCHACHA20_POLY1305 });
  const ctx2 = baseCtx({ suite: SUITE_AES256GCM });

  it("a segment sealed under one suite never opens under the other (a changed suite byte)", () => {
    const plain = pattern(2 * SMALL + 3);
    const one = sealAll(createSegmentCipher(dekA, ctx1), plain, SMALL);
    const two = sealAll(createSegmentCipher(dekA, ctx2), plain, SMALL);
    expect(() => openAll(createSegmentCipher(dekA, ctx2), one)).toThrow(IntegrityError);
    expect(() => openAll(createSegmentCipher(dekA, ctx1), two)).toThrow(IntegrityError);
    expect(one[0]!.equals(two[0]!)).toBe(false);
  });

  it("suite 2 never keys AES with the DEK itself, and derives a different key for every write", () => {
    const key = (ctx: SegmentContext) => {
      const out = Buffer.alloc(32);
      createSegmentCipher(dekA, ctx).copyKey(out);
      return out.toString("hex");
    };
    const keys = new Set([
      key(ctx2),
      key({ ...ctx2, writeId: Buffer.alloc(16, 0x5a) }),
      key({ ...ctx2, objectId: "docs/other.pdf" }),
      key({ ...ctx2, owner: "u_bob" }),
      key({ ...ctx2, segmentSize: SMALL * 2 }),
      key({ ...ctx2, formatVersion: 2, part: { uploadWriteId: ctx2.writeId, number: 1 } }),
      key({ ...ctx2, formatVersion: 2, part: { uploadWriteId: ctx2.writeId, number: 2 } }),
    ]);
    expect(keys.size).toBe(7);
    expect(keys.has(dekA.toString("hex"))).toBe(false);
    // Suite 1 runs its AEAD under the DEK (its nonce carries the write id instead).
    expect(key(ctx1)).toBe(dekA.toString("hex"));
  });

  it("suite 2's nonce is u32be(index) ‖ last flag ‖ seven zero bytes; suite 1's starts with the write id", () => {
    const nonce = Buffer.alloc(24, 0xee);
    const ad = Buffer.alloc(37);
    const gcm = createSegmentCipher(dekA, ctx2);
    expect(gcm.nonceBytes).toBe(12);
    expect(gcm.openParameters(7, true, 5 + TAG_BYTES, nonce, ad)).toBe(5);
    expect(nonce.subarray(0, 12).toString("hex")).toBe("000000070100000000000000");
    expect(nonce.subarray(12).equals(Buffer.alloc(12, 0xee))).toBe(true);
    expect(ad.subarray(32).toString("hex")).toBe("0000000701");
    const xchacha = createSegmentCipher(dekA, ctx1);
    expect(xchacha.nonceBytes).toBe(24);
    xchacha.openParameters(7, false, SMALL + TAG_BYTES, nonce, ad);
    expect(nonce.toString("hex")).toBe(`${ctx1.writeId.toString("hex")}0000000700000000`);
  });

  it.each([ctx1, ctx2])(
    "dispose() refuses any later use, and leaves the caller's DEK alone (suite $suite)",
    (ctx) => {
      const dek = Buffer.from(dekA);
      const c = createSegmentCipher(dek, ctx);
      const sealed = c.seal(0, true, pattern(10));
      c.dispose();
      c.dispose();
      expect(() => c.seal(1, true, pattern(10))).toThrow(/dispose/);
      expect(() => c.open(0, true, sealed)).toThrow(/dispose/);
      expect(() => c.copyKey(Buffer.alloc(32))).toThrow(/dispose/);
      expect(() => c.openParameters(0, true, sealed.length, Buffer.alloc(24), Buffer.alloc(37))).toThrow(
        /dispose/,
      );
      expect(dek.equals(dekA)).toBe(true);
    },
  );
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function lp(b: Buffer): Buffer {
  return Buffer.concat([u32(b.length), b]);
}

function documentedAdPrefix(ctx: SegmentContext): Buffer {
  const sodium = createRequire(import.meta.url)("sodium-native") as {
    crypto_generichash(out: Buffer, input: Buffer): void;
  };
  const encoded = Buffer.concat([
    lp(Buffer.from("sse-store/segment")),
    lp(Buffer.of(ctx.formatVersion)),
    lp(Buffer.of(ctx.suite)),
    lp(u32(ctx.segmentSize)),
    lp(Buffer.from(ctx.owner)),
    lp(Buffer.from(ctx.objectId)),
    lp(ctx.writeId),
  ]);
  const out = Buffer.alloc(32);
  sodium.crypto_generichash(out, encoded);
  return out;
}

/** HKDF-Expand-SHA256 (RFC 5869) with PRK = DEK, info = label ‖ prefix, one block of output. */
function documentedGcmKey(dek: Buffer, prefix: Buffer): Buffer {
  return createHmac("sha256", dek)
    .update(Buffer.concat([Buffer.from("sse-store/segment-key"), prefix, Buffer.of(1)]))
    .digest();
}

function hchacha20(key: Buffer, nonce16: Buffer): Buffer {
  const s = new Uint32Array(16);
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(4 * i);
  const rotl = (v: number, c: number) => ((v << c) | (v >>> (32 - c))) >>> 0;
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[c] = (s[c]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[c]!, 7);
  };
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => {
    out.writeUInt32LE(s[w]!, 4 * i);
  });
  return out;
}

function xchachaSeal(key: Buffer, nonce24: Buffer, ad: Buffer, m: Buffer): Buffer {
  const subkey = hchacha20(key, nonce24.subarray(0, 16));
  const nonce12 = Buffer.concat([Buffer.alloc(4), nonce24.subarray(16)]);
  const c = createCipheriv("chacha20-poly1305", subkey, nonce12, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: m.length });
  return Buffer.concat([c.update(m), c.final(), c.getAuthTag()]);
}
