// The check of a write's condition (If-None-Match: *, If-Match) against the current object, made by
// every adapter inside its commit transaction.
import { AppError } from "../errors.js";
import type { WriteCondition } from "./store.js";

export function checkWriteCondition(
  current: { etag: string } | null | undefined,
  cond: WriteCondition,
): void {
  if (cond.ifNoneMatch && current) throw new AppError("precondition_failed", "the object already exists");
  if (cond.ifMatch !== undefined) {
    if (!current) throw new AppError("precondition_failed", "the object does not exist");
    if (!cond.ifMatch.some((e) => e === "*" || e === current.etag)) {
      throw new AppError("precondition_failed", "the object's ETag does not match");
    }
  }
}
