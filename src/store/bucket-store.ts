// The port of buckets: the names CreateBucket made, so that an empty bucket exists. A bucket is a
// top-level folder of its owner's namespace (S3 `photos` + `a.jpg` is the object `photos/a.jpg`), so
// it also exists, with no row here, while objects under `name/` do: the domain (objects/bucket-service.ts)
// combines the two. Adapters pass test/contract/buckets.contract.ts.
import type { BucketRecord } from "./records.js";

export interface BucketStore {
  /** Durable. False (nothing changes) when the owner already has a bucket of that name. */
  createBucket(bucket: BucketRecord): Promise<boolean>;
  getBucket(owner: string, name: string): Promise<BucketRecord | null>;
  /** The owner's bucket rows, by name (bytewise). */
  listBuckets(owner: string): Promise<BucketRecord[]>;
  /** Durable. False when there was no such row. The caller checks for objects first. */
  deleteBucket(owner: string, name: string): Promise<boolean>;
}
