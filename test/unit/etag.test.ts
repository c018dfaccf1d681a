import { describe, expect, it } from "vitest";
import { generateKey } from "../../src/crypto/envelope.js";
import { EtagHasher, isValidEtag } from "../../src/crypto/etag.js";

function etagOf(dek: Buffer, ...chunks: Buffer[]): string {
  const h = new EtagHasher(dek);
  for (const c of chunks) h.update(c);
  return h.digest();
}

// The ETag vectors published in docs/FORMAT.md, "Test vectors"; keep both in step.
const VECTOR_DEK = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

describe("EtagHasher", () => {
  it("produces a quoted strong ETag with the k1 prefix", () => {
    const e = etagOf(generateKey(), Buffer.from("hello"));
    expect(e).toMatch(/^"k1-[A-Za-z0-9_-]{22}"$/);
    expect(isValidEtag(e)).toBe(true);
  });

  it("does not depend on how the content is chunked", () => {
    const dek = generateKey();
    const p = pattern(70000);
    expect(etagOf(dek, p)).toBe(etagOf(dek, p.subarray(0, 1), p.subarray(1, 65536), p.subarray(65536)));
  });

  it("changes with the content and with the key", () => {
    const dek = generateKey();
    expect(etagOf(dek, Buffer.from("a"))).not.toBe(etagOf(dek, Buffer.from("b")));
    expect(etagOf(dek, Buffer.from("a"))).not.toBe(etagOf(generateKey(), Buffer.from("a")));
  });

  it("is keyed: it is not an unkeyed hash of the content", () => {
    // Same content under two DEKs (two writes) must not be linkable.
    const p = Buffer.from("same content");
    expect(etagOf(generateKey(), p)).not.toBe(etagOf(generateKey(), p));
  });

  it("does not modify the DEK", () => {
    const dek = generateKey();
    const copy = Buffer.from(dek);
    etagOf(dek, Buffer.from("x"));
    expect(dek.equals(copy)).toBe(true);
  });

  it("refuses use after digest", () => {
    const h = new EtagHasher(generateKey());
    h.digest();
    expect(() => h.update(Buffer.from("x"))).toThrow();
    expect(() => h.digest()).toThrow();
  });

  it("rejects a DEK of the wrong size", () => {
    expect(() => new EtagHasher(Buffer.alloc(16))).toThrow(RangeError);
  });

  it.each([
    ["empty", Buffer.alloc(0), '"k1-SavgNxZBOsOBJCyfvh2DsQ"'],
    ["65537 bytes of i mod 251", pattern(65537), '"k1-Jlia5OhCuWKNi_gxqEt4Dg"'],
  ])("matches the published vector: %s", (_name, content, expected) => {
    expect(etagOf(VECTOR_DEK, content)).toBe(expected);
  });
});

describe("isValidEtag", () => {
  it.each([
    ['"k1-SavgNxZBOsOBJCyfvh2DsQ"', true],
    ['"k1-Jlia5OhCuWKNi_gxqEt4Dg"', true],
    ["k1-SavgNxZBOsOBJCyfvh2DsQ", false],
    ['W/"k1-SavgNxZBOsOBJCyfvh2DsQ"', false],
    ['"k2-SavgNxZBOsOBJCyfvh2DsQ"', false],
    ['"k1-SavgNxZBOsOBJCyfvh2Ds"', false],
    ['"k1-SavgNxZBOsOBJCyfvh2DsQQ"', false],
    ['"k1-SavgNxZBOsOBJCyfvh2Ds="', false],
    ['"k1-SavgNxZBOsOBJCyfvh2Ds+"', false],
    ['"k1-SavgNxZBOsOBJCyfvh2DsQ" ', false],
    ["*", false],
    ["", false],
  ])("%s → %s", (s, ok) => {
    expect(isValidEtag(s)).toBe(ok);
  });
});
