// The rule of a write's condition (If-None-Match: *, If-Match) against the current object: checked
// by the object service before the body is read, and by every adapter inside its commit transaction.
import { AppError } from "../errors.js";
import type { WriteCondition } from "./object-store.js";

export function checkCondition(current: { etag: string } | null | undefined, cond: WriteCondition): void {
  if (cond.ifNoneMatch && current) throw objectExists();
  if (cond.ifMatch !== undefined) {
    if (!current) throw new AppError("precondition_failed", "the object does not exist (If-Match)");
    if (!cond.ifMatch.some((e) => e === "*" || e === current.etag))
      throw new AppError("precondition_failed", "the object's ETag does not match If-Match");
  }
}

/** If-None-Match: * of a write that found the object exists (an adapter may know no more than that). */
export function objectExists(): AppError {
  return new AppError("precondition_failed", "the object exists (If-None-Match: *)");
}
