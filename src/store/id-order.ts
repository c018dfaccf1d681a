// The list order of object ids, shared by every adapter: canonical decimal integers first, by value,
// then every other id bytewise. Adapters store `integerIdValue(id)` beside the id to index both halves.

/**
 * U+10FFFF, whose UTF-8 form (F4 8F BF BF) sorts after every other character's in byte order, the
 * order of both stores: so [p, p + ID_HIGH) holds the ids starting with p. Ids may not contain it.
 */
export const ID_HIGH = "\u{10FFFF}";

const CANONICAL_INT = /^(?:0|-?[1-9][0-9]*)$/;

/** The numeric value of a canonical decimal integer id in the safe range, else null. */
export function integerIdValue(id: string): number | null {
  if (id.length > 17 || !CANONICAL_INT.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}

/** Can some canonical integer id start with this prefix? */
export function prefixAdmitsIntegers(prefix: string): boolean {
  return /^-?(?:[1-9][0-9]*)?$/.test(prefix) || prefix === "0";
}
