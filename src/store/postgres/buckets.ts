// The BucketStore on PostgreSQL: the buckets CreateBucket made, one row per (owner, name).
import { AppError } from "../../errors.js";
import type { BucketStore } from "../bucket-store.js";
import type { BucketRecord } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { BUCKETS, pgInsert, valuesOf } from "../rows.js";
import type { PgDatabase } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

type BucketRow = Rows.BucketRow<Date>;
const { toBucket, fromBucket } = postgresRows;

export class PostgresBucketStore implements BucketStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async createBucket(bucket: BucketRecord): Promise<boolean> {
    try {
      const rows = await this.#db.query(
        `${pgInsert(BUCKETS)} ON CONFLICT (owner, name) DO NOTHING RETURNING 1`,
        valuesOf(BUCKETS.names, fromBucket(bucket)),
      );
      return rows.length > 0;
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
  }

  async getBucket(owner: string, name: string): Promise<BucketRecord | null> {
    const [row] = await this.#db.query<BucketRow>(
      `SELECT ${BUCKETS.list} FROM buckets WHERE owner = $1 AND name = $2`,
      [owner, name],
    );
    return row ? toBucket(row) : null;
  }

  async listBuckets(owner: string): Promise<BucketRecord[]> {
    const rows = await this.#db.query<BucketRow>(
      `SELECT ${BUCKETS.list} FROM buckets WHERE owner = $1 ORDER BY name`,
      [owner],
    );
    return rows.map(toBucket);
  }

  async deleteBucket(owner: string, name: string): Promise<boolean> {
    const rows = await this.#db.query("DELETE FROM buckets WHERE owner = $1 AND name = $2 RETURNING 1", [
      owner,
      name,
    ]);
    return rows.length > 0;
  }
}
