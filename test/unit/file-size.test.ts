// No source file under src/ grows past 400 lines: a file that long holds more than one idea and is
// split by idea (issue 14). The failure names every file over the limit and its length.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");
const MAX_LINES = 400;

/** Lines as `wc -l` counts them, plus an unterminated last line. */
function lineCount(text: string): number {
  if (text === "") return 0;
  const newlines = text.split("\n").length - 1;
  return text.endsWith("\n") ? newlines : newlines + 1;
}

describe("source file size", () => {
  it(`keeps every .ts and .tsx file under src/ at ${MAX_LINES} lines or fewer`, () => {
    const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => /\.tsx?$/.test(f));
    expect(files.length).toBeGreaterThan(100);
    const tooLong = files
      .map((f) => ({ file: path.join("src", f), lines: lineCount(readFileSync(path.join(SRC, f), "utf8")) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(tooLong).toEqual([]);
  });

  it("counts lines as wc -l does", () => {
    expect(lineCount("")).toBe(0);
    expect(lineCount("a\n")).toBe(1);
    expect(lineCount("a\nb")).toBe(2);
    expect(lineCount("a\n\nb\n")).toBe(3);
  });
});
