// The domain's errors as S3 clients expect them: the same failure gets S3's code and status here
// and problem+json on the native API. Anything unknown is S3's InternalError (and logged).
import { AppError, type ErrorCode } from "../errors.js";
import { S3Error, type S3ErrorCode } from "./errors.js";

const BY_CODE: Partial<Record<ErrorCode, S3ErrorCode>> = {
  bad_request: "InvalidRequest",
  invalid_id: "InvalidArgument",
  invalid_header: "InvalidArgument",
  digest_mismatch: "BadDigest",
  length_mismatch: "IncompleteBody",
  incomplete_body: "IncompleteBody",
  invalid_part: "InvalidPart",
  invalid_part_order: "InvalidPartOrder",
  entity_too_small: "EntityTooSmall",
  unauthorized: "AccessDenied",
  forbidden: "AccessDenied",
  enrolled: "AccessDenied",
  not_found: "NoSuchKey",
  precondition_failed: "PreconditionFailed",
  payload_too_large: "EntityTooLarge",
  range_not_satisfiable: "InvalidRange",
  too_many_requests: "SlowDown",
  storage_unavailable: "ServiceUnavailable",
  key_provider_unavailable: "ServiceUnavailable",
  shutting_down: "ServiceUnavailable",
  audit_unavailable: "ServiceUnavailable",
  key_destroyed: "AccessDenied",
  request_timeout: "RequestTimeout",
};

/** The S3Error for any failure; `notFound` names what a not_found means where it happened. */
export function toS3Error(err: unknown, notFound: S3ErrorCode = "NoSuchKey"): S3Error | null {
  if (err instanceof S3Error) return err;
  if (!(err instanceof AppError)) return null;
  if (err.code === "not_found") return new S3Error(notFound);
  const code = BY_CODE[err.code];
  if (!code) return null;
  const out = new S3Error(code, err.detail);
  out.cause = err;
  return out;
}
