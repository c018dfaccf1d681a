// The domain services the S3 operations call: the same ones the native API calls, never the store.
import type { BucketService } from "../../objects/bucket-service.js";
import type { MultipartService } from "../../objects/multipart-service.js";
import type { ObjectService } from "../../objects/object-service.js";

export interface S3Domain {
  objects: ObjectService;
  buckets: BucketService;
  multipart: MultipartService;
  /** SSE_S3_REGION: what GetBucketLocation and ListBuckets answer. */
  region: string;
}
