import { describe, expect, it } from "vitest";
import { PATHS } from "../../src/api/paths.js";
import { nextLink } from "../../src/cli/client.js";
import { DEFAULT_CONTENT_TYPE, guessContentType } from "../../src/cli/content-type.js";
import { objectIdProblem } from "../../src/cli/object-id.js";
import { table } from "../../src/cli/output.js";

describe("content-type guessing", () => {
  it("maps common extensions, case-insensitively", () => {
    expect(guessContentType("report.PDF")).toBe("application/pdf");
    expect(guessContentType("/tmp/a/b/photo.jpeg")).toBe("image/jpeg");
    expect(guessContentType("data.json")).toBe("application/json");
    expect(guessContentType("notes.txt")).toBe("text/plain");
    expect(guessContentType("archive.tar.gz")).toBe("application/gzip");
  });

  it("falls back to octet-stream", () => {
    expect(guessContentType("blob")).toBe(DEFAULT_CONTENT_TYPE);
    expect(guessContentType("x.unknownext")).toBe("application/octet-stream");
    expect(guessContentType(".bashrc")).toBe("application/octet-stream");
  });
});

describe("object ids (API.md rule)", () => {
  it("accepts the allowed alphabet and slashes between segments", () => {
    for (const id of ["a", "a/b/c.txt", "A-Z_a~z.0-9", "42", "x".repeat(1024)])
      expect(objectIdProblem(id)).toBeUndefined();
  });

  it("rejects empty, too long, bad characters and dot segments", () => {
    for (const id of ["", "x".repeat(1025), "my file.txt", "a//b", "/a", "a/", "a/../b", ".", "é"])
      expect(objectIdProblem(id)).toBeTypeOf("string");
  });

  it("encodes each segment and keeps the slashes", () => {
    expect(PATHS.object("dir/sub/file.txt")).toBe("/data/dir/sub/file.txt");
    expect(PATHS.object("a~b")).toBe("/data/a~b");
  });
});

describe("Link header", () => {
  it("finds rel=next among several links", () => {
    expect(nextLink('</data?after=10&limit=10>; rel="next"')).toBe("/data?after=10&limit=10");
    expect(nextLink('</data?x=1>; rel="prev", </data?after=b>; rel="next"')).toBe("/data?after=b");
    expect(nextLink("<http://h/data?after=a,b>; rel=next")).toBe("http://h/data?after=a,b");
  });

  it("is undefined without a next link", () => {
    expect(nextLink(null)).toBeUndefined();
    expect(nextLink('</data>; rel="prev"')).toBeUndefined();
  });
});

describe("formatting", () => {
  it("aligns table columns", () => {
    expect(
      table(
        [
          ["a", "bb"],
          ["ccc", "d"],
        ],
        ["X", "Y"],
      ),
    ).toEqual(["X    Y", "a    bb", "ccc  d"]);
  });
});
