// Single byte ranges (RFC 9110 §14). A header we cannot use is ignored (full 200), as RFC 9110
// allows; a valid range that selects nothing is 416.
import { AppError } from "../errors.js";

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

const DIGITS = /^[0-9]+$/;
const OWS = /^[ \t]*|[ \t]*$/g;

/** A digit string as a number; beyond the safe range it is Infinity, so comparisons stay exact. */
function position(digits: string): number {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

function unsatisfiable(size: number): AppError {
  return new AppError("range_not_satisfiable", `the range selects no byte of a ${size}-byte object`, {
    "Content-Range": `bytes */${size}`,
  });
}

export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const value = header.replace(OWS, "");
  const eq = value.indexOf("=");
  // Range units compare case-insensitively (RFC 9110 §14.1).
  if (eq < 0 || value.slice(0, eq).toLowerCase() !== "bytes") return null;
  // The list rule (RFC 9110 §5.6.1) allows empty elements and OWS around commas.
  const specs = value
    .slice(eq + 1)
    .split(",")
    .map((s) => s.replace(OWS, ""))
    .filter((s) => s !== "");
  if (specs.length !== 1) return null;
  const spec = specs[0]!;
  const dash = spec.indexOf("-");
  if (dash < 0) return null;
  const first = spec.slice(0, dash);
  const last = spec.slice(dash + 1);

  if (first === "") {
    if (!DIGITS.test(last)) return null;
    const suffix = position(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  if (!DIGITS.test(first) || (last !== "" && !DIGITS.test(last))) return null;
  // Compared exactly: both may be beyond the safe-integer range.
  if (last !== "" && BigInt(last) < BigInt(first)) return null;
  const start = position(first);
  const end = last === "" ? Number.POSITIVE_INFINITY : position(last);
  if (start >= size) throw unsatisfiable(size);
  return { start, end: Math.min(end, size - 1) };
}

/** The segments that hold `r`, and how many bytes of the first one precede `r.start`. */
export function segmentsForRange(
  r: ByteRange,
  segmentSize: number,
): { first: number; last: number; skip: number } {
  const first = Math.floor(r.start / segmentSize);
  return { first, last: Math.floor(r.end / segmentSize), skip: r.start - first * segmentSize };
}
