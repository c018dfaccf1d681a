import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { idToJson, isCanonicalInteger, validateObjectId } from "../../src/objects/object-id.js";

function codeOf(id: string): string | undefined {
  try {
    validateObjectId(id);
    return undefined;
  } catch (e) {
    return (e as AppError).code;
  }
}

describe("validateObjectId", () => {
  it.each([
    "a",
    "1",
    "-1",
    "docs/report.pdf",
    "a/b/c",
    "A-Z_a~z.0-9",
    "...",
    ".hidden",
    "a./.b",
    "~",
    "x".repeat(1024),
    `${"a/".repeat(511)}bc`,
    // Every S3 key: what the old rules refused is now an ordinary id.
    "/a",
    "a/",
    "/",
    "a//b",
    "a/./b",
    "a/../b",
    ".",
    "..",
    "a b",
    "a%2Fb",
    "a\\b",
    "c:x",
    "a+b",
    "a?b",
    "a#b",
    "(x)",
    "Quarterly Report (final) \u00e9.txt",
    "caf\u00e9",
    "\u{1F600}",
    "\u6f22\u5b57/\u0444\u0430\u0439\u043b",
    "a\u007fb",
    "\u00e9".repeat(512),
  ])("accepts %j", (id) => {
    expect(() => validateObjectId(id)).not.toThrow();
  });

  it.each([
    ["empty", ""],
    ["1025 bytes", "x".repeat(1025)],
    ["1025 bytes of UTF-8 in 513 characters", `${"\u00e9".repeat(512)}x`],
    ["NUL", "a\u0000b"],
    ["newline", "a\nb"],
    ["tab", "a\tb"],
    ["unit separator", "a\u001fb"],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate", "\udc00"],
    ["the list sentinel U+10FFFF", "a\u{10FFFF}"],
  ])("rejects %s", (_name, id) => {
    expect(codeOf(id)).toBe("invalid_id");
  });

  it("gives a 400 with a clear detail", () => {
    try {
      validateObjectId("a\u0000b");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).status).toBe(400);
      expect((e as AppError).detail).toMatch(/control characters/);
    }
  });
});

describe("isCanonicalInteger / idToJson", () => {
  it.each<[string, boolean]>([
    ["0", true],
    ["1", true],
    ["42", true],
    ["-1", true],
    ["-42", true],
    ["9007199254740991", true],
    ["-9007199254740991", true],
    ["9007199254740992", false],
    ["-9007199254740992", false],
    ["12345678901234567890", false],
    ["-0", false],
    ["00", false],
    ["01", false],
    ["-01", false],
    ["+1", false],
    ["1.0", false],
    ["1e3", false],
    ["0x10", false],
    [" 1", false],
    ["1 ", false],
    ["", false],
    ["-", false],
    ["a1", false],
  ])("%s → %s", (id, canonical) => {
    expect(isCanonicalInteger(id)).toBe(canonical);
    expect(idToJson(id)).toStrictEqual(canonical ? Number(id) : id);
  });
});
