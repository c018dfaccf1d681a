// The KeyStore on PostgreSQL: wrapped KEK versions in their own schema (sse_keys by default, or a
// database of its own), so that the keys are backed up and restored apart from the objects and
// restoring objects never brings back a destroyed key.
import { AppError } from "../../errors.js";
import type { KeyStore } from "../key-store.js";
import type { KekRewrap, KekVersionRecord, UserKeyState } from "../records.js";
import { fromState, postgresRows, toState } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { KEK_VERSIONS, pgInsert, USER_KEYS, valuesOf } from "../rows.js";
import type { PgDatabase } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

type KekRow = Rows.KekRow<Date>;
const { toKek, fromKek } = postgresRows;

const INSERT_KEK = pgInsert(KEK_VERSIONS);
const kekValues = (rec: KekVersionRecord) => valuesOf(KEK_VERSIONS.names, fromKek(rec));

export class PostgresKeyStore implements KeyStore {
  readonly #db: PgDatabase;
  readonly #onError: (err: unknown, what: string) => void;

  /** `onError`: a VACUUM after erasing keys that failed (best effort), for the log. */
  constructor(db: PgDatabase, onError: (err: unknown, what: string) => void) {
    this.#db = db;
    this.#onError = onError;
  }

  async createUserKey(state: UserKeyState, first: KekVersionRecord): Promise<void> {
    try {
      await this.#db.tx("durable", async (q) => {
        await q.query(pgInsert(USER_KEYS), valuesOf(USER_KEYS.names, fromState(state)));
        await q.query(INSERT_KEK, kekValues(first));
      });
    } catch (err) {
      if (isConstraint(err, "unique")) throw new AppError("conflict", "the user already has a key");
      throw err;
    }
  }

  async getUserKeyState(owner: string): Promise<UserKeyState | null> {
    const [row] = await this.#db.query<Rows.StateRow>(
      `SELECT ${USER_KEYS.list} FROM user_keys WHERE owner = $1`,
      [owner],
    );
    return row ? toState(row) : null;
  }

  async listKekVersions(owner: string): Promise<KekVersionRecord[]> {
    const rows = await this.#db.query<KekRow>(
      `SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE owner = $1 ORDER BY version`,
      [owner],
    );
    return rows.map(toKek);
  }

  async getKekVersion(owner: string, version: number): Promise<KekVersionRecord | null> {
    const [row] = await this.#db.query<KekRow>(
      `SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE owner = $1 AND version = $2`,
      [owner, version],
    );
    return row ? toKek(row) : null;
  }

  async addKekVersion(rec: KekVersionRecord): Promise<void> {
    try {
      await this.#db.tx("durable", async (q) => {
        await q.query(INSERT_KEK, kekValues(rec));
        await q.query("UPDATE user_keys SET primary_version = $1 WHERE owner = $2", [rec.version, rec.owner]);
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the user has no key");
      if (isConstraint(err, "unique")) throw new AppError("conflict", "this key version exists");
      throw err;
    }
  }

  async retireKekVersionsBelow(owner: string, version: number): Promise<void> {
    await this.#db.tx("durable", async (q) => {
      const found = await q.query(
        `UPDATE user_keys SET min_decryption_version = greatest(min_decryption_version, $1)
         WHERE owner = $2 RETURNING 1`,
        [version, owner],
      );
      if (found.length === 0) throw new AppError("not_found", "the user has no key");
      await q.query("DELETE FROM kek_versions WHERE owner = $1 AND version < $2", [owner, version]);
    });
    await this.#vacuum();
  }

  async rewrapKekVersions(rewraps: readonly KekRewrap[]): Promise<void> {
    if (rewraps.length === 0) return;
    // One statement for the page, so one transaction and one durable commit. No error when a
    // version is gone: the user was deleted while the root rotation ran.
    await this.#db.query(
      `UPDATE kek_versions k SET root_version = r.root_version, wrapped_kek = r.wrapped_kek
       FROM unnest($1::text[], $2::int[], $3::int[], $4::bytea[])
            AS r(owner, version, root_version, wrapped_kek)
       WHERE k.owner = r.owner COLLATE "C" AND k.version = r.version`,
      [
        rewraps.map((r) => r.owner),
        rewraps.map((r) => r.version),
        rewraps.map((r) => r.rootVersion),
        rewraps.map((r) => r.wrappedKek),
      ],
    );
  }

  async kekVersionsNotWrappedBy(rootVersion: number, limit: number): Promise<KekVersionRecord[]> {
    if (limit <= 0) return [];
    // Two range scans of (root_version, owner, version) instead of a full scan for `<>`.
    const rows = await this.#db.query<KekRow>(
      `(SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE root_version < $1
        ORDER BY root_version, owner, version LIMIT $2)
       UNION ALL
       (SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE root_version > $1
        ORDER BY root_version, owner, version LIMIT $2)
       ORDER BY root_version, owner, version LIMIT $2`,
      [rootVersion, limit],
    );
    return rows.map(toKek);
  }

  async countKekVersionsNotWrappedBy(rootVersion: number): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>(
      "SELECT count(*) AS n FROM kek_versions WHERE root_version <> $1",
      [rootVersion],
    );
    return row?.n ?? 0;
  }

  async destroyUserKeys(owner: string): Promise<void> {
    await this.#db.tx("durable", async (q) => {
      await q.query("DELETE FROM kek_versions WHERE owner = $1", [owner]);
      await q.query("DELETE FROM user_keys WHERE owner = $1", [owner]);
    });
    await this.#vacuum();
  }

  /**
   * Removes erased keys' dead rows from the tables at once instead of whenever autovacuum comes by.
   * Their bytes may outlive this in free space, the WAL and backups: see docs/OPERATIONS.md. Best
   * effort: the keys are gone already; a role that does not own the tables (42501), or a connection
   * lost now, leaves the dead rows to autovacuum.
   */
  async #vacuum(): Promise<void> {
    await this.#db
      .withConnection((q) => q.query("VACUUM kek_versions, user_keys"))
      .catch((err: unknown) => this.#onError(err, "VACUUM after erasing keys"));
  }
}
