// The S3 API's own catalogue of error codes: S3 clients branch on these exact names and statuses,
// so they follow AWS S3's documented list rather than the native API's problem+json codes.

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header you provided is invalid." },
  AuthorizationQueryParametersError: {
    status: 400,
    message: "The authorization query parameters you provided are invalid.",
  },
  BadDigest: {
    status: 400,
    message: "The Content-MD5 or checksum value you specified did not match what we received.",
  },
  BucketAlreadyExists: {
    status: 409,
    message: "The requested bucket name is not available. Please select a different name and try again.",
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: "Your previous request to create the named bucket succeeded and you already own it.",
  },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty." },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed object size." },
  EntityTooSmall: {
    status: 400,
    message: "Your proposed upload is smaller than the minimum allowed object size.",
  },
  IncompleteBody: {
    status: 400,
    message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  },
  InsufficientStorage: { status: 507, message: "The server has no room left to store this object." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: {
    status: 403,
    message: "The access key ID you provided does not exist in our records.",
  },
  InvalidArgument: { status: 400, message: "Invalid argument." },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidDigest: { status: 400, message: "The Content-MD5 or checksum value you specified is not valid." },
  InvalidEncryptionAlgorithmError: {
    status: 400,
    message: "The encryption request you specified is not valid.",
  },
  InvalidObjectName: { status: 400, message: "The specified object name is not valid." },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
  },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable." },
  InvalidRequest: { status: 400, message: "Invalid request." },
  InvalidStorageClass: { status: 400, message: "The storage class you specified is not valid." },
  InvalidToken: { status: 400, message: "The provided token is malformed or otherwise invalid." },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: "Your key is too long." },
  MalformedTrailerError: {
    status: 400,
    message:
      "The request contained trailing data that was not well-formed or did not conform to our published schema.",
  },
  MalformedXML: {
    status: 400,
    message: "The XML you provided was not well-formed or did not validate against our published schema.",
  },
  MaxMessageLengthExceeded: { status: 400, message: "Your request was too big." },
  MetadataTooLarge: {
    status: 400,
    message: "Your metadata headers exceed the maximum allowed metadata size.",
  },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  MissingContentLength: { status: 411, message: "You must provide the Content-Length HTTP header." },
  MissingRequestBodyError: { status: 400, message: "Request body is empty." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist." },
  NoSuchBucketPolicy: { status: 404, message: "The bucket policy does not exist." },
  NoSuchCORSConfiguration: { status: 404, message: "The CORS configuration does not exist." },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchLifecycleConfiguration: { status: 404, message: "The lifecycle configuration does not exist." },
  NoSuchTagSet: { status: 404, message: "The TagSet does not exist." },
  NoSuchUpload: {
    status: 404,
    message:
      "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
  },
  NotImplemented: {
    status: 501,
    message: "A header or query you provided implies functionality that is not implemented.",
  },
  NotModified: { status: 304, message: "Not Modified" },
  PreconditionFailed: {
    status: 412,
    message: "At least one of the preconditions you specified did not hold.",
  },
  RequestTimeout: {
    status: 400,
    message:
      "Your socket connection to the server was not read from or written to within the timeout period.",
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  ServiceUnavailable: { status: 503, message: "Please reduce your request rate." },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  SlowDown: { status: 503, message: "Please reduce your request rate." },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

export class S3Error extends Error {
  override name = "S3Error";
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    /** Safe to show to the client: never a secret, a signing key or a path on disk. */
    message?: string,
    /** Extra child elements of <Error>, as S3 adds them (RequestTime, ServerTime, Expires…). */
    readonly fields: Readonly<Record<string, string>> = {},
    /** Extra response headers (Allow on MethodNotAllowed, Retry-After on SlowDown…). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message ?? S3_ERRORS[code].message);
    this.status = S3_ERRORS[code].status;
  }
}

export function isS3Error(e: unknown): e is S3Error {
  return e instanceof S3Error;
}
