// Object ids: the rules of API.md, "Data: binary objects", and the seed's integer ids.
import { AppError } from "../errors.js";

export const MAX_ID_BYTES = 1024;
const ALLOWED = /^[A-Za-z0-9._~/-]*$/;
const CANONICAL_INTEGER = /^(?:0|-?[1-9][0-9]{0,15})$/;

export function validateObjectId(id: string): void {
  // Characters first: once only ASCII is left, the string length is the byte length.
  if (!ALLOWED.test(id)) {
    throw new AppError("invalid_id", "id may contain only A-Z a-z 0-9 . _ ~ - and /");
  }
  if (id.length < 1 || id.length > MAX_ID_BYTES) {
    throw new AppError("invalid_id", `id must be 1 to ${MAX_ID_BYTES} bytes long`);
  }
  if (id.startsWith("/") || id.endsWith("/")) {
    throw new AppError("invalid_id", "id must not start or end with /");
  }
  for (const segment of id.split("/")) {
    if (segment === "") throw new AppError("invalid_id", "id must not contain an empty segment (//)");
    if (segment === "." || segment === "..") {
      throw new AppError("invalid_id", "id must not contain a . or .. segment");
    }
  }
}

export function isCanonicalInteger(id: string): boolean {
  return CANONICAL_INTEGER.test(id) && Number.isSafeInteger(Number(id));
}

/** The JSON form of an id: a number for a canonical integer, otherwise the string. */
export function idToJson(id: string): string | number {
  return isCanonicalInteger(id) ? Number(id) : id;
}
