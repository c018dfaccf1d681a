import { describe, expect, it } from "vitest";
import {
  ACCESS_KEY_ID_LENGTH,
  generateAccessKeyId,
  generateSecretBytes,
  isAccessKeyId,
  secretString,
} from "../../src/auth/access-key-format.js";

describe("access key ids", () => {
  it("are SSEK and 16 upper-case hex digits, 20 characters, and distinct", () => {
    const ids = new Set(Array.from({ length: 1000 }, generateAccessKeyId));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^SSEK[0-9A-F]{16}$/);
      expect(id).toHaveLength(ACCESS_KEY_ID_LENGTH);
      expect(isAccessKeyId(id)).toBe(true);
    }
  });

  it.each([
    ["empty", ""],
    ["AWS's", "AKIAIOSFODNN7EXAMPLE"],
    ["lower case", "ssek0123456789abcdef"],
    ["lower-case hex", "SSEK0123456789abcdef"],
    ["too short", "SSEK0123456789ABCDE"],
    ["too long", "SSEK0123456789ABCDEF0"],
    ["a NUL", "SSEK0123456789ABCDE\u0000"],
    ["a newline after it", "SSEK0123456789ABCDEF\n"],
    ["a token id", "0123456789abcdef"],
  ])("refuses %s", (_what, id) => {
    expect(isAccessKeyId(id)).toBe(false);
  });
});

describe("secrets", () => {
  it("are 32 random bytes as 43 characters of base64url, which decode to the same bytes", () => {
    const bytes = generateSecretBytes();
    const s = secretString(bytes);
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(s, "base64url").equals(bytes)).toBe(true);
    // The same bytes give the same string: what is unwrapped is what the client signs with.
    expect(secretString(Buffer.from(bytes))).toBe(s);
    expect(secretString(generateSecretBytes())).not.toBe(s);
    expect(secretString(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    );
  });

  it("refuses bytes of another length (a programming error)", () => {
    expect(() => secretString(Buffer.alloc(31))).toThrow(RangeError);
  });
});
