// The domain services the S3 operations call: the same ones the native API calls, never the store.
import type { Buckets } from "../../objects/buckets.js";
import type { MultipartUploads } from "../../objects/multipart.js";
import type { ObjectService } from "../../objects/object-service.js";

export interface S3Domain {
  objects: ObjectService;
  buckets: Buckets;
  multipart: MultipartUploads;
  /** SSE_S3_REGION: what GetBucketLocation and ListBuckets answer. */
  region: string;
}
