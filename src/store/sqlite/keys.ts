// The KeyStore on keys.db, a file of its own: with secure_delete, so that a destroyed key is
// overwritten in the file, and a truncating checkpoint, so that no copy stays in the WAL. Every
// write here is a key change and commits durably.
import { AppError, StorageUnavailableError } from "../../errors.js";
import type { KeyStore } from "../key-store.js";
import type { KekRewrap, KekVersionRecord, UserKeyState } from "../records.js";
import { fromState, sqliteRows, toState } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { KEK_VERSIONS, sqliteInsert, USER_KEYS } from "../rows.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";

type KekRow = Rows.KekRow<number>;
const { toKek, fromKek } = sqliteRows;

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    insertState: p(sqliteInsert(USER_KEYS)),
    getState: p(`SELECT ${USER_KEYS.list} FROM user_keys WHERE owner = ?`),
    setPrimary: p("UPDATE user_keys SET primary_version = ? WHERE owner = ?"),
    raiseMin: p(
      "UPDATE user_keys SET min_decryption_version = max(min_decryption_version, ?) WHERE owner = ?",
    ),
    insertKek: p(sqliteInsert(KEK_VERSIONS)),
    listKeks: p(`SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE owner = ? ORDER BY version`),
    getKek: p(`SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE owner = ? AND version = ?`),
    rewrap: p("UPDATE kek_versions SET root_version = ?, wrapped_kek = ? WHERE owner = ? AND version = ?"),
    // Two range scans of (root_version, owner, version) instead of a full scan for `<>`.
    wrappedBelow: p(
      `SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE root_version < ? ORDER BY root_version, owner, version LIMIT ?`,
    ),
    wrappedAbove: p(
      `SELECT ${KEK_VERSIONS.list} FROM kek_versions WHERE root_version > ? ORDER BY root_version, owner, version LIMIT ?`,
    ),
    deleteKeks: p("DELETE FROM kek_versions WHERE owner = ?"),
    deleteKeksBelow: p("DELETE FROM kek_versions WHERE owner = ? AND version < ?"),
    countNotWrappedBy: p("SELECT count(*) FROM kek_versions WHERE root_version <> ?").pluck(),
    deleteState: p("DELETE FROM user_keys WHERE owner = ?"),
  };
}

export class SqliteKeyStore implements KeyStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#s = prepareStatements(db);
  }

  async createUserKey(state: UserKeyState, first: KekVersionRecord): Promise<void> {
    try {
      this.#db.durable(() => {
        this.#s.insertState.run(fromState(state));
        this.#s.insertKek.run(fromKek(first));
      });
    } catch (err) {
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE"))
        throw new AppError("conflict", "the user already has a key");
      throw err;
    }
  }

  async getUserKeyState(owner: string): Promise<UserKeyState | null> {
    const row = this.#db.guard(() => this.#s.getState.get(owner)) as Rows.StateRow | undefined;
    return row ? toState(row) : null;
  }

  async listKekVersions(owner: string): Promise<KekVersionRecord[]> {
    return (this.#db.guard(() => this.#s.listKeks.all(owner)) as KekRow[]).map(toKek);
  }

  async getKekVersion(owner: string, version: number): Promise<KekVersionRecord | null> {
    const row = this.#db.guard(() => this.#s.getKek.get(owner, version)) as KekRow | undefined;
    return row ? toKek(row) : null;
  }

  async addKekVersion(rec: KekVersionRecord): Promise<void> {
    try {
      this.#db.durable(() => {
        this.#s.insertKek.run(fromKek(rec));
        this.#s.setPrimary.run(rec.version, rec.owner);
      });
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new AppError("not_found", "the user has no key");
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE"))
        throw new AppError("conflict", "this key version exists");
      throw err;
    }
  }

  async retireKekVersionsBelow(owner: string, version: number): Promise<void> {
    const { changes } = this.#db.durable(() => {
      const r = this.#s.raiseMin.run(version, owner);
      if (r.changes > 0) this.#s.deleteKeksBelow.run(owner, version);
      return r;
    });
    if (changes === 0) throw new AppError("not_found", "the user has no key");
    this.#checkpoint();
  }

  async rewrapKekVersions(rewraps: readonly KekRewrap[]): Promise<void> {
    if (rewraps.length === 0) return;
    // No error when a version is gone: the user was deleted while the root rotation ran.
    this.#db.durable(() => {
      for (const r of rewraps) this.#s.rewrap.run(r.rootVersion, r.wrappedKek, r.owner, r.version);
    });
  }

  async kekVersionsNotWrappedBy(rootVersion: number, limit: number): Promise<KekVersionRecord[]> {
    if (limit <= 0) return [];
    const rows = this.#db.guard(() => {
      const below = this.#s.wrappedBelow.all(rootVersion, limit) as KekRow[];
      if (below.length >= limit) return below;
      return below.concat(this.#s.wrappedAbove.all(rootVersion, limit - below.length) as KekRow[]);
    });
    return rows.map(toKek);
  }

  async countKekVersionsNotWrappedBy(rootVersion: number): Promise<number> {
    return this.#db.guard(() => this.#s.countNotWrappedBy.get(rootVersion)) as number;
  }

  async destroyUserKeys(owner: string): Promise<void> {
    this.#db.durable(() => {
      this.#s.deleteKeks.run(owner);
      this.#s.deleteState.run(owner);
    });
    this.#checkpoint();
  }

  #checkpoint(): void {
    // secure_delete zeroed the freed pages in the WAL; copy them over the file and drop the WAL so
    // neither the file nor the log keeps the old bytes.
    const [res] = this.#db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
    if (res?.busy !== 0) {
      // Retrying is safe: the rows are gone, only the checkpoint is left to do.
      throw new StorageUnavailableError(new Error("keys.db checkpoint was blocked by another connection"));
    }
  }
}
