// Every S3 operation, bound to the domain services.
import type { S3Operations } from "../router.js";
import { bucketOps } from "./buckets.js";
import type { S3Domain } from "./domain.js";
import { multipartOps } from "./multipart.js";
import { objectOps } from "./objects.js";

export type { S3Domain } from "./domain.js";

export function s3Operations(d: S3Domain): S3Operations {
  return { ...bucketOps(d), ...objectOps(d), ...multipartOps(d) };
}
