// The one catalogue of error codes. Each code carries its HTTP status and title; the domain throws
// AppError with a code, and the single HTTP error handler turns it into problem+json.

export const ERROR_CATALOGUE = {
  bad_request: { status: 400, title: "Bad request" },
  invalid_id: { status: 400, title: "Invalid object id" },
  invalid_name: { status: 400, title: "Invalid user name" },
  empty_data: { status: 400, title: "Empty data" },
  invalid_header: { status: 400, title: "Invalid header" },
  digest_mismatch: { status: 400, title: "Content digest mismatch" },
  length_mismatch: { status: 400, title: "Body length does not match Content-Length" },
  incomplete_body: { status: 400, title: "Request body ended early" },
  invalid_part: { status: 400, title: "A named part was not uploaded as named" },
  invalid_part_order: { status: 400, title: "Parts must be listed in ascending order" },
  entity_too_small: { status: 400, title: "A part other than the last is too small" },
  unsupported_transfer_encoding: { status: 400, title: "Transfer coding not supported" },
  unauthorized: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Forbidden" },
  enrolled: { status: 403, title: "The user has enrolled; only it issues its credentials" },
  invalid_link: { status: 403, title: "Invalid download link" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  not_acceptable: { status: 406, title: "Not acceptable" },
  conflict: { status: 409, title: "Conflict" },
  user_exists: { status: 409, title: "User already exists" },
  cannot_delete_self: { status: 409, title: "A user cannot delete itself" },
  cannot_reset_self: { status: 409, title: "A user cannot reset itself" },
  bucket_exists: { status: 409, title: "The bucket exists" },
  bucket_not_empty: { status: 409, title: "The bucket is not empty" },
  last_admin: { status: 409, title: "The last admin cannot be deleted" },
  key_version_in_use: { status: 409, title: "Key version still in use" },
  gone: { status: 410, title: "Gone" },
  link_expired: { status: 410, title: "Download link expired" },
  object_changed: { status: 410, title: "Object changed since the link was made" },
  key_destroyed: { status: 410, title: "The key of this data was destroyed" },
  request_timeout: { status: 408, title: "Request timeout" },
  precondition_failed: { status: 412, title: "Precondition failed" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  range_not_satisfiable: { status: 416, title: "Range not satisfiable" },
  validation_error: { status: 422, title: "Unprocessable request body" },
  headers_too_large: { status: 431, title: "Request headers too large" },
  too_many_requests: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal server error" },
  integrity_error: { status: 500, title: "Stored data failed authentication" },
  public_url_required: { status: 501, title: "Download links need SSE_PUBLIC_URL" },
  storage_unavailable: { status: 503, title: "Storage unavailable" },
  insufficient_storage: { status: 507, title: "Insufficient storage" },
  key_provider_unavailable: { status: 503, title: "Key provider unavailable" },
  audit_unavailable: { status: 503, title: "The audit log cannot be written" },
  shutting_down: { status: 503, title: "Server is shutting down" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class AppError extends Error {
  override name = "AppError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    /** Safe to show to the client: never a key, a token, a path or SQL. */
    readonly detail?: string,
    /** Extra response headers (Retry-After, WWW-Authenticate, Content-Range…). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? ERROR_CATALOGUE[code].title);
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** Thrown by crypto code when an AEAD tag or a format check fails. */
export class IntegrityError extends AppError {
  override name = "IntegrityError";
  constructor(detail = "stored data failed authentication") {
    super("integrity_error", detail);
  }
}

/** Thrown by store adapters when the database cannot be reached; the cause stays in the log. */
export class StorageUnavailableError extends AppError {
  override name = "StorageUnavailableError";
  constructor(
    cause?: unknown,
    code: "storage_unavailable" | "insufficient_storage" = "storage_unavailable",
    detail = "the storage backend is unavailable",
  ) {
    super(code, detail);
    this.cause = cause;
  }
}

/**
 * A write failed because the disk (or the database server's disk) is full: 507, and nothing of
 * that write was kept. Still a StorageUnavailableError, so whatever stops or retries on a storage
 * fault does the same here.
 */
export class DiskFullError extends StorageUnavailableError {
  override name = "DiskFullError";
  constructor(cause?: unknown) {
    super(
      cause,
      "insufficient_storage",
      "the disk is full: nothing was stored; reads and deletes still work, writes resume once space is freed",
    );
  }
}

/** errno codes of a write refused for lack of space (ENOSPC), or of quota (EDQUOT). */
export function isNoSpaceErrno(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

export class KeyProviderError extends AppError {
  override name = "KeyProviderError";
  constructor(detail = "the key provider is unavailable", cause?: unknown) {
    super("key_provider_unavailable", detail);
    this.cause = cause;
  }
}
