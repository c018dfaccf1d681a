// Object ids: the rules of API.md, "Data: binary objects" — any S3 key — and the seed's integer ids.
import { hasC0Control } from "../control-characters.js";
import { AppError } from "../errors.js";
import { ID_HIGH } from "../store/id-order.js";

export const MAX_ID_BYTES = 1024;
const CANONICAL_INTEGER = /^(?:0|-?[1-9][0-9]{0,15})$/;
/** A UTF-16 surrogate without its pair: a string that has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * 1 to 1024 bytes of UTF-8, as S3 keys are: spaces, accents, `()+%#?`, `//`, dot segments and a
 * trailing `/` included. Refused: C0 control characters (NUL included), text with no UTF-8 form,
 * and U+10FFFF, the noncharacter that bounds prefix ranges in the stores (store/id-order.ts).
 */
export function validateObjectId(id: string): void {
  if (typeof id !== "string" || id.length === 0)
    throw new AppError("invalid_id", `id must be 1 to ${MAX_ID_BYTES} bytes of UTF-8`);
  if (hasC0Control(id))
    throw new AppError("invalid_id", "id must not contain control characters (U+0000 to U+001F)");
  if (LONE_SURROGATE.test(id)) throw new AppError("invalid_id", "id must be valid UTF-8");
  if (id.includes(ID_HIGH)) throw new AppError("invalid_id", "id must not contain U+10FFFF");
  if (Buffer.byteLength(id, "utf8") > MAX_ID_BYTES)
    throw new AppError("invalid_id", `id must be 1 to ${MAX_ID_BYTES} bytes of UTF-8`);
}

export function isCanonicalInteger(id: string): boolean {
  return CANONICAL_INTEGER.test(id) && Number.isSafeInteger(Number(id));
}

/** The JSON form of an id: a number for a canonical integer, otherwise the string. */
export function idToJson(id: string): string | number {
  return isCanonicalInteger(id) ? Number(id) : id;
}

/** The id as a URL path (each `/`-separated part percent-encoded), for Location headers and links. */
export function idPath(id: string): string {
  return id.split("/").map(encodeURIComponent).join("/");
}
