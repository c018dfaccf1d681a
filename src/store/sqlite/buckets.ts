// The BucketStore on objects.db: the buckets CreateBucket made, one row per (owner, name).
import { AppError } from "../../errors.js";
import type { BucketStore } from "../bucket-store.js";
import type { BucketRecord } from "../records.js";
import { sqliteRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { BUCKETS, sqliteInsert } from "../rows.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";

type BucketRow = Rows.BucketRow<number>;
const { toBucket, fromBucket } = sqliteRows;

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    insert: p(`${sqliteInsert(BUCKETS)} ON CONFLICT (owner, name) DO NOTHING`),
    get: p(`SELECT ${BUCKETS.list} FROM buckets WHERE owner = ? AND name = ?`),
    list: p(`SELECT ${BUCKETS.list} FROM buckets WHERE owner = ? ORDER BY name`),
    delete: p("DELETE FROM buckets WHERE owner = ? AND name = ?"),
  };
}

export class SqliteBucketStore implements BucketStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#s = prepareStatements(db);
  }

  async createBucket(bucket: BucketRecord): Promise<boolean> {
    try {
      return await this.#db.grouped(() => this.#s.insert.run(fromBucket(bucket)).changes > 0);
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the owner does not exist");
      throw err;
    }
  }

  async getBucket(owner: string, name: string): Promise<BucketRecord | null> {
    const row = this.#db.guard(() => this.#s.get.get(owner, name)) as BucketRow | undefined;
    return row ? toBucket(row) : null;
  }

  async listBuckets(owner: string): Promise<BucketRecord[]> {
    const rows = this.#db.guard(() => this.#s.list.all(owner)) as BucketRow[];
    return rows.map(toBucket);
  }

  async deleteBucket(owner: string, name: string): Promise<boolean> {
    return this.#db.grouped(() => this.#s.delete.run(owner, name).changes > 0);
  }
}
