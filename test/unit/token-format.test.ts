import { describe, expect, it } from "vitest";
import {
  generateToken,
  hashToken,
  isPlausibleToken,
  isTokenId,
  tokenLookupId,
  tokenMatches,
} from "../../src/auth/token-format.js";

describe("token format", () => {
  it("issues sse_ tokens with a 64-bit id and a 256-bit secret, all distinct", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = generateToken();
      const m = /^sse_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(t.token);
      expect(m).not.toBeNull();
      expect(m?.[1]).toBe(t.id);
      expect(Buffer.from(m?.[2] ?? "", "base64url")).toHaveLength(32);
      expect(tokenLookupId(t.token)).toBe(t.id);
      expect(isTokenId(t.id)).toBe(true);
      seen.add(t.token);
    }
    expect(seen.size).toBe(200);
  });

  it("matches only the exact token against its stored hash", () => {
    const t = generateToken();
    expect(tokenMatches(t.token, t.secretHash)).toBe(true);
    expect(tokenMatches(`${t.token.slice(0, -1)}${t.token.endsWith("A") ? "B" : "A"}`, t.secretHash)).toBe(
      false,
    );
    expect(tokenMatches(t.token, Buffer.alloc(32))).toBe(false);
    expect(tokenMatches(t.token, Buffer.alloc(0))).toBe(false);
    // The stored hash does not contain the token or its secret.
    expect(t.secretHash.toString("latin1")).not.toContain(t.token.slice(22));
    expect(hashToken(t.token)).toEqual(t.secretHash);
  });

  it("gives an operator-chosen bootstrap token a derived id", () => {
    const id = tokenLookupId("a-bootstrap-token-chosen-by-the-operator-0123456789");
    expect(id).toMatch(/^b[0-9a-f]{15}$/);
    expect(isTokenId(id)).toBe(true);
    expect(tokenLookupId("a-bootstrap-token-chosen-by-the-operator-0123456789")).toBe(id);
  });

  it("rejects implausible credentials before any lookup", () => {
    expect(isPlausibleToken("short")).toBe(false);
    expect(isPlausibleToken("x".repeat(513))).toBe(false);
    expect(isPlausibleToken("has space in the middle of it")).toBe(false);
    expect(isPlausibleToken("é-not-ascii-but-long-enough")).toBe(false);
    expect(isPlausibleToken(generateToken().token)).toBe(true);
  });

  it("accepts only token ids of the two shapes", () => {
    for (const bad of [
      "",
      "0123456789abcde",
      "0123456789abcdef0",
      "0123456789ABCDEF",
      "x123456789abcdef",
      "../etc",
    ])
      expect(isTokenId(bad), bad).toBe(false);
  });
});
