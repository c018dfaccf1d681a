import { describe, expect, it } from "vitest";
import { grantToken, MAX_TOKEN_LIFETIME_SECONDS } from "../../src/auth/token-grant.js";
import { AppError } from "../../src/errors.js";
import type { Scope, TokenRecord } from "../../src/store/records.js";

const now = new Date(1_800_000_000_000);
const token = (scopes: Scope[], expiresAt: Date | null = null): TokenRecord => ({
  id: "0123456789abcdef",
  uid: "u",
  label: null,
  scopes,
  secretHash: Buffer.alloc(32),
  created: now,
  lastUsed: null,
  expiresAt,
  issuedBy: null,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return undefined;
}

describe("grantToken", () => {
  it("defaults to read and write, no expiry, no label", () => {
    expect(grantToken({}, now)).toEqual({ label: null, scopes: ["read", "write"], expiresAt: null });
  });

  it("normalises scopes to a sorted set", () => {
    expect(grantToken({ scopes: ["write", "read", "write"] }, now).scopes).toEqual(["read", "write"]);
    expect(grantToken({ scopes: ["read"] }, now).scopes).toEqual(["read"]);
  });

  it("refuses an empty or unknown scope list instead of granting everything", () => {
    expect(codeOf(() => grantToken({ scopes: [] }, now))).toBe("validation_error");
    expect(codeOf(() => grantToken({ scopes: ["admin"] }, now))).toBe("validation_error");
  });

  it("computes the expiry and refuses a lifetime that is not a positive integer in range", () => {
    expect(grantToken({ expiresInSeconds: 60 }, now).expiresAt).toEqual(new Date(now.getTime() + 60_000));
    for (const bad of [0, -1, 1.5, Number.NaN, MAX_TOKEN_LIFETIME_SECONDS + 1])
      expect(
        codeOf(() => grantToken({ expiresInSeconds: bad }, now)),
        String(bad),
      ).toBe("validation_error");
  });

  it("checks the label", () => {
    expect(grantToken({ label: "laptop" }, now).label).toBe("laptop");
    expect(codeOf(() => grantToken({ label: "x".repeat(129) }, now))).toBe("validation_error");
    expect(codeOf(() => grantToken({ label: "a\nb" }, now))).toBe("validation_error");
  });

  describe("issued by a token to its own user", () => {
    it("defaults to the creating token's scopes and expiry", () => {
      const exp = new Date(now.getTime() + 3_600_000);
      expect(grantToken({}, now, token(["write"], exp))).toEqual({
        label: null,
        scopes: ["write"],
        expiresAt: exp,
      });
    });

    it("never adds a scope", () => {
      expect(codeOf(() => grantToken({ scopes: ["read", "write"] }, now, token(["write"])))).toBe(
        "forbidden",
      );
      expect(codeOf(() => grantToken({ scopes: ["read"] }, now, token(["write"])))).toBe("forbidden");
      expect(grantToken({ scopes: ["read"] }, now, token(["read", "write"])).scopes).toEqual(["read"]);
    });

    it("never outlives the creating token", () => {
      const exp = new Date(now.getTime() + 3_600_000);
      expect(codeOf(() => grantToken({ expiresInSeconds: 3601 }, now, token(["write"], exp)))).toBe(
        "forbidden",
      );
      expect(grantToken({ expiresInSeconds: 3600 }, now, token(["write"], exp)).expiresAt).toEqual(exp);
      expect(grantToken({ expiresInSeconds: 60 }, now, token(["write"], exp)).expiresAt).toEqual(
        new Date(now.getTime() + 60_000),
      );
    });

    it("may shorten the life of a token that never expires", () => {
      expect(grantToken({}, now, token(["read", "write"])).expiresAt).toBeNull();
      expect(grantToken({ expiresInSeconds: 10 }, now, token(["read", "write"])).expiresAt).toEqual(
        new Date(now.getTime() + 10_000),
      );
    });
  });
});

describe("grantToken for an access key", () => {
  it("applies the same ceiling, and names what it refuses", () => {
    const ceiling = token(["read"], new Date(now.getTime() + 60_000));
    expect(grantToken({}, now, ceiling, "access key")).toEqual({
      label: null,
      scopes: ["read"],
      expiresAt: ceiling.expiresAt,
    });
    expect(() => grantToken({ scopes: ["write"] }, now, ceiling, "access key")).toThrow(
      "a token cannot create an access key with more scopes than its own (write)",
    );
    expect(() => grantToken({ expiresInSeconds: 61 }, now, ceiling, "access key")).toThrow(
      "a token cannot create an access key that outlives it",
    );
    expect(() => grantToken({ expiresInSeconds: 61 }, now, ceiling)).toThrow(
      "a token cannot create a token that outlives it",
    );
  });
});
