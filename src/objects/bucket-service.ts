// Buckets: the top-level folders of a user's namespace, as S3 sees them. A bucket exists when
// CreateBucket made it (a row, so that an empty bucket survives listing) or while objects under
// `name/` exist (written through S3 or the native API alike). Names follow S3's rules; a top-level
// folder whose name is no valid bucket name is simply not a bucket.
import { AppError } from "../errors.js";
import { isValidBucketName } from "../s3/bucket-name.js";
import type { BucketStore } from "../store/bucket-store.js";
import type { MultipartStore } from "../store/multipart-store.js";
import type { ObjectStore } from "../store/object-store.js";
import { listFolder } from "./folder-listing.js";

export interface BucketInfo {
  name: string;
  created: Date;
}

/** How long a bucket seen to exist is taken to exist without asking the store again. */
const EXISTS_TTL_MS = 2000;
const MAX_KNOWN = 10_000;

export class BucketService {
  /** owner NUL name → until when it is known to exist (writes check the bucket on every request). */
  readonly #known = new Map<string, number>();

  readonly #store: BucketStore;
  readonly #objects: ObjectStore;
  readonly #multipart: MultipartStore;
  readonly #now: () => number;

  constructor(
    store: BucketStore,
    objects: ObjectStore,
    multipart: MultipartStore,
    now: () => number = Date.now,
  ) {
    this.#store = store;
    this.#objects = objects;
    this.#multipart = multipart;
    this.#now = now;
  }

  async exists(owner: string, name: string): Promise<boolean> {
    const key = `${owner}\0${name}`;
    const until = this.#known.get(key);
    if (until !== undefined && until > this.#now()) return true;
    const found =
      isValidBucketName(name) &&
      ((await this.#store.getBucket(owner, name)) !== null || (await this.#hasObjects(owner, name)));
    if (found) {
      if (this.#known.size >= MAX_KNOWN) this.#known.clear();
      this.#known.set(key, this.#now() + EXISTS_TTL_MS);
    }
    return found;
  }

  async #hasObjects(owner: string, name: string): Promise<boolean> {
    return (await this.#objects.listObjects(owner, { prefix: `${name}/`, limit: 1 })).length > 0;
  }

  /** Every bucket of the owner by name: the rows, and the top-level folders that are bucket names. */
  async list(owner: string): Promise<BucketInfo[]> {
    const byName = new Map<string, BucketInfo>();
    for (const b of await this.#store.listBuckets(owner))
      byName.set(b.name, { name: b.name, created: b.created });
    // Only ids that are not integers can hold a "/": starting after "" skips the seed's items.
    let cursor: string | undefined;
    do {
      const page = await listFolder(this.#objects, owner, {
        prefix: "",
        delimiter: "/",
        limit: 1000,
        ...(cursor ? { cursor } : { after: "" }),
      });
      for (const e of page.entries) {
        if (e.kind !== "folder") continue;
        const name = e.prefix.slice(0, -1);
        if (byName.has(name) || !isValidBucketName(name)) continue;
        // An implicit bucket was born with its oldest object; the first one listed stands for it.
        const [first] = await this.#objects.listObjects(owner, { prefix: e.prefix, limit: 1 });
        if (first) byName.set(name, { name, created: first.created });
      }
      cursor = page.next ?? undefined;
    } while (cursor);
    return [...byName.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  /** Makes an empty bucket; bucket_exists when the owner has it already (a row, or objects in it). */
  async create(owner: string, name: string): Promise<void> {
    if (!isValidBucketName(name)) throw new AppError("bad_request", "not a valid bucket name");
    if (await this.#hasObjects(owner, name)) throw new AppError("bucket_exists", `bucket ${name} exists`);
    if (!(await this.#store.createBucket({ owner, name, created: new Date(this.#now()) })))
      throw new AppError("bucket_exists", `bucket ${name} exists`);
  }

  /**
   * Deletes an empty bucket (bucket_not_empty while objects are in it; not_found when there is no
   * such bucket). Multipart uploads still in progress in it are aborted with it.
   */
  async delete(owner: string, name: string): Promise<void> {
    this.#known.delete(`${owner}\0${name}`);
    if (!isValidBucketName(name)) throw new AppError("not_found", `no bucket ${name}`);
    if (await this.#hasObjects(owner, name))
      throw new AppError("bucket_not_empty", `bucket ${name} is not empty`);
    const uploads = await this.#multipart.listMultipart(owner, { prefix: `${name}/`, limit: 10_000 });
    for (const u of uploads) await this.#multipart.abortMultipart(u.uploadId);
    if (!(await this.#store.deleteBucket(owner, name)) && uploads.length === 0)
      throw new AppError("not_found", `no bucket ${name}`);
  }
}
