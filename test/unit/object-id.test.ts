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
  ])("accepts %s", (id) => {
    expect(() => validateObjectId(id)).not.toThrow();
  });

  it.each([
    ["empty", ""],
    ["1025 bytes", "x".repeat(1025)],
    ["leading slash", "/a"],
    ["trailing slash", "a/"],
    ["only a slash", "/"],
    ["double slash", "a//b"],
    ["dot segment", "a/./b"],
    ["dot-dot segment", "a/../b"],
    ["lone dot", "."],
    ["lone dot-dot", ".."],
    ["trailing dot-dot", "a/.."],
    ["space", "a b"],
    ["percent", "a%2Fb"],
    ["backslash", "a\\b"],
    ["colon", "c:x"],
    ["plus", "a+b"],
    ["question mark", "a?b"],
    ["NUL", "a\u0000b"],
    ["newline", "a\nb"],
    ["non-ASCII", "caf\u00e9"],
    ["emoji", "\u{1F600}"],
  ])("rejects %s", (_name, id) => {
    expect(codeOf(id)).toBe("invalid_id");
  });

  it("gives a 400 with a clear detail", () => {
    try {
      validateObjectId("a//b");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).status).toBe(400);
      expect((e as AppError).detail).toMatch(/empty segment/);
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
