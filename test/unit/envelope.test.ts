import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  accessKeyContext,
  dekContext,
  generateKey,
  KEY_BYTES,
  kekContext,
  unwrapKey,
  WRAPPED_KEY_BYTES,
  wrapKey,
  wrapKeyWithNonce,
  wrappedKeyVersion,
  zeroize,
} from "../../src/crypto/envelope.js";
import { IntegrityError } from "../../src/errors.js";

const writeId = Buffer.alloc(16, 7);
const ctx = dekContext("u_alice", "docs/a.txt", writeId);

describe("generateKey / zeroize", () => {
  it("generates distinct 32-byte keys", () => {
    const a = generateKey();
    const b = generateKey();
    expect(a.length).toBe(KEY_BYTES);
    expect(a.equals(b)).toBe(false);
  });

  it("zeroizes in place", () => {
    const k = generateKey();
    zeroize(k);
    expect(k.equals(Buffer.alloc(KEY_BYTES))).toBe(true);
  });
});

describe("wrapKey / unwrapKey", () => {
  const kek = generateKey();
  const dek = generateKey();

  it("round trips and names the KEK version", () => {
    const blob = wrapKey(kek, 42, dek, ctx);
    expect(blob.length).toBe(WRAPPED_KEY_BYTES);
    expect(wrappedKeyVersion(blob)).toBe(42);
    expect(unwrapKey(kek, blob, ctx).equals(dek)).toBe(true);
  });

  it("uses a fresh nonce per wrap", () => {
    expect(wrapKey(kek, 1, dek, ctx).equals(wrapKey(kek, 1, dek, ctx))).toBe(false);
  });

  it("accepts the full u32 version range", () => {
    expect(wrappedKeyVersion(wrapKey(kek, 0, dek, ctx))).toBe(0);
    expect(wrappedKeyVersion(wrapKey(kek, 0xffffffff, dek, ctx))).toBe(0xffffffff);
    expect(() => wrapKey(kek, 2 ** 32, dek, ctx)).toThrow(RangeError);
    expect(() => wrapKey(kek, -1, dek, ctx)).toThrow(RangeError);
  });

  it("rejects every single-bit flip of the blob", () => {
    const blob = wrapKey(kek, 3, dek, ctx);
    for (let i = 0; i < blob.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(blob);
        bad[i]! ^= 1 << bit;
        expect(() => unwrapKey(kek, bad, ctx)).toThrow(IntegrityError);
      }
    }
  });

  it("authenticates the KEK version in the header", () => {
    const blob = wrapKey(kek, 3, dek, ctx);
    blob.writeUInt32BE(4, 2);
    expect(wrappedKeyVersion(blob)).toBe(4);
    expect(() => unwrapKey(kek, blob, ctx)).toThrow(IntegrityError);
  });

  it("rejects a wrong KEK", () => {
    expect(() => unwrapKey(generateKey(), wrapKey(kek, 1, dek, ctx), ctx)).toThrow(IntegrityError);
  });

  it.each([
    ["owner", dekContext("u_bob", "docs/a.txt", writeId)],
    ["object id", dekContext("u_alice", "docs/b.txt", writeId)],
    ["write id", dekContext("u_alice", "docs/a.txt", Buffer.alloc(16, 8))],
    ["kind of context", kekContext("u_alice", 1)],
    ["kind of context (access key)", accessKeyContext("u_alice", "docs/a.txt")],
    ["empty context", Buffer.alloc(0)],
  ])("rejects a different %s", (_name, other) => {
    expect(() => unwrapKey(kek, wrapKey(kek, 1, dek, ctx), other)).toThrow(IntegrityError);
  });

  it.each([
    ["empty", Buffer.alloc(0)],
    ["truncated", wrapKey(generateKey(), 1, generateKey(), ctx).subarray(0, WRAPPED_KEY_BYTES - 1)],
    ["extended", Buffer.concat([wrapKey(generateKey(), 1, generateKey(), ctx), Buffer.alloc(1)])],
  ])("rejects a %s blob", (_name, blob) => {
    expect(() => unwrapKey(kek, blob, ctx)).toThrow(IntegrityError);
    expect(() => wrappedKeyVersion(blob)).toThrow(IntegrityError);
  });

  it("rejects an unknown format version or suite", () => {
    for (const at of [0, 1]) {
      const blob = wrapKey(kek, 1, dek, ctx);
      blob[at] = 2;
      expect(() => wrappedKeyVersion(blob)).toThrow(IntegrityError);
      expect(() => unwrapKey(kek, blob, ctx)).toThrow(IntegrityError);
    }
  });

  it("treats a wrong-size KEK or key as a programming error", () => {
    expect(() => wrapKey(Buffer.alloc(16), 1, dek, ctx)).toThrow(RangeError);
    expect(() => wrapKey(kek, 1, Buffer.alloc(16), ctx)).toThrow(RangeError);
    expect(() => unwrapKey(Buffer.alloc(16), wrapKey(kek, 1, dek, ctx), ctx)).toThrow(RangeError);
  });
});

describe("contexts", () => {
  it("are length-prefixed so fields cannot shift into each other", () => {
    expect(dekContext("ab", "c", writeId).equals(dekContext("a", "bc", writeId))).toBe(false);
    expect(kekContext("u_alice", 1).equals(kekContext("u_alice", 2))).toBe(false);
    expect(accessKeyContext("ab", "SSEK1").equals(accessKeyContext("a", "bSSEK1"))).toBe(false);
  });

  it("give each access key's secret a context of its own, apart from any object's", () => {
    const kek = generateKey();
    const secret = generateKey();
    const blob = wrapKey(kek, 1, secret, accessKeyContext("u_alice", "SSEK0123456789ABCDEF"));
    for (const other of [
      accessKeyContext("u_alice", "SSEK0123456789ABCDEE"),
      accessKeyContext("u_bob", "SSEK0123456789ABCDEF"),
      dekContext("u_alice", "SSEK0123456789ABCDEF", writeId),
    ])
      expect(() => unwrapKey(kek, blob, other)).toThrow(IntegrityError);
    expect(unwrapKey(kek, blob, accessKeyContext("u_alice", "SSEK0123456789ABCDEF")).equals(secret)).toBe(
      true,
    );
  });

  it("require a 16-byte write id", () => {
    expect(() => dekContext("u", "o", Buffer.alloc(15))).toThrow(RangeError);
  });

  it("match the documented encodings", () => {
    expect(kekContext("u_alice", 3).toString("hex")).toBe(KEK_CONTEXT_HEX);
    expect(dekContext("u_alice", "docs/report.pdf", VECTOR_WRITE_ID).toString("hex")).toBe(DEK_CONTEXT_HEX);
    expect(accessKeyContext("u_alice", "SSEK0123456789ABCDEF").toString("hex")).toBe(ACCESS_KEY_CONTEXT_HEX);
  });
});

// The wrapped-key vector published in docs/FORMAT.md, "Test vectors"; keep both in step.
const VECTOR_KEK = Buffer.from("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "hex");
const VECTOR_DEK = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const VECTOR_NONCE = Buffer.from("404142434445464748494a4b4c4d4e4f5051525354555657", "hex");
const VECTOR_WRITE_ID = Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex");
const DEK_CONTEXT_HEX =
  "000000107373652d73746f72652f64656b2f763100000007755f616c6963650000000f646f63732f7265706f72742e706466" +
  "00000010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
const KEK_CONTEXT_HEX = "000000107373652d73746f72652f6b656b2f763100000007755f616c6963650000000400000003";
const ACCESS_KEY_CONTEXT_HEX =
  "000000177373652d73746f72652f6163636573732d6b65792f763100000007755f616c696365" +
  "000000145353454b30313233343536373839414243444546";
/** The DEK bytes above as an access key's secret under accessKeyContext("u_alice", "SSEK0123456789ABCDEF"). */
const WRAPPED_SECRET_HEX =
  "010100000007404142434445464748494a4b4c4d4e4f5051525354555657" +
  "3a206faa2263fbd87f77e533e86eec2ae944d5f0c20214542c98db349222d70d" +
  "b26a6fe1e71420f686ccb747a9053fd5";
const WRAPPED_HEX =
  "010100000007404142434445464748494a4b4c4d4e4f5051525354555657" +
  "3a206faa2263fbd87f77e533e86eec2ae944d5f0c20214542c98db349222d70d" +
  "625ebc4597207a1ed12f8bad711bc397";

describe("wrapped-key test vector (docs/FORMAT.md)", () => {
  const context = dekContext("u_alice", "docs/report.pdf", VECTOR_WRITE_ID);

  it("wraps to the published bytes", () => {
    expect(wrapKeyWithNonce(VECTOR_KEK, 7, VECTOR_DEK, context, VECTOR_NONCE).toString("hex")).toBe(
      WRAPPED_HEX,
    );
  });

  it("wraps an access key's secret to the published bytes, and unwraps them", () => {
    const akContext = accessKeyContext("u_alice", "SSEK0123456789ABCDEF");
    expect(wrapKeyWithNonce(VECTOR_KEK, 7, VECTOR_DEK, akContext, VECTOR_NONCE).toString("hex")).toBe(
      WRAPPED_SECRET_HEX,
    );
    const secret = unwrapKey(VECTOR_KEK, Buffer.from(WRAPPED_SECRET_HEX, "hex"), akContext);
    expect(secret.toString("base64url")).toBe("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  });

  it("unwraps the published bytes", () => {
    const blob = Buffer.from(WRAPPED_HEX, "hex");
    expect(wrappedKeyVersion(blob)).toBe(7);
    expect(unwrapKey(VECTOR_KEK, blob, context).equals(VECTOR_DEK)).toBe(true);
  });

  it("follows the documented layout: AD = header ‖ context, nonce after the header", () => {
    const sodium = createRequire(import.meta.url)("sodium-native") as {
      crypto_aead_xchacha20poly1305_ietf_decrypt(
        m: Buffer,
        nsec: null,
        c: Buffer,
        ad: Buffer,
        npub: Buffer,
        k: Buffer,
      ): number;
    };
    const blob = Buffer.from(WRAPPED_HEX, "hex");
    const out = Buffer.alloc(32);
    const ad = Buffer.concat([blob.subarray(0, 6), context]);
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      out,
      null,
      blob.subarray(30),
      ad,
      blob.subarray(6, 30),
      VECTOR_KEK,
    );
    expect(out.equals(VECTOR_DEK)).toBe(true);
  });
});
