// The one rule for an object's size (SSE_MAX_OBJECT_BYTES), applied to a declared Content-Length
// before the body is read and to the bytes counted while it streams.
import { AppError } from "../errors.js";

export function checkObjectSize(bytes: number, max: number): void {
  if (bytes > max) throw new AppError("payload_too_large", `objects are limited to ${max} bytes`);
}
