// The embedded KeyStore: wrapped KEK versions in their own file (keys.db), with secure_delete so that a
// destroyed key is overwritten in the file and a truncating checkpoint so that no copy stays in the WAL.
import { AppError, StorageUnavailableError } from "../../errors.js";
import type * as Rows from "../rows.js";
import { type StateRow, sqliteRows, toState } from "../rows.js";
import type { KekRewrap, KekVersionRecord, KeyStore, UserKeyState } from "../store.js";
import { type EmergencySpace, withEmergencyRoom } from "./emergency-space.js";
import { type Db, isConstraint, KEYS_SCHEMA, openDatabase, storageFault } from "./migrations.js";

type KekRow = Rows.KekRow<number>;
const { toKek } = sqliteRows;

const KEK_COLUMNS = "owner, version, root_version, wrapped_kek, created";

function prepareStatements(db: Db) {
  const p = db.prepare.bind(db);
  return {
    ping: p("SELECT 1"),
    insertState: p("INSERT INTO user_keys (owner, primary_version, min_decryption_version) VALUES (?, ?, ?)"),
    getState: p("SELECT owner, primary_version, min_decryption_version FROM user_keys WHERE owner = ?"),
    setPrimary: p("UPDATE user_keys SET primary_version = ? WHERE owner = ?"),
    raiseMin: p(
      "UPDATE user_keys SET min_decryption_version = max(min_decryption_version, ?) WHERE owner = ?",
    ),
    insertKek: p(`INSERT INTO kek_versions (${KEK_COLUMNS}) VALUES (?, ?, ?, ?, ?)`),
    listKeks: p(`SELECT ${KEK_COLUMNS} FROM kek_versions WHERE owner = ? ORDER BY version`),
    getKek: p(`SELECT ${KEK_COLUMNS} FROM kek_versions WHERE owner = ? AND version = ?`),
    rewrap: p("UPDATE kek_versions SET root_version = ?, wrapped_kek = ? WHERE owner = ? AND version = ?"),
    // Two range scans of (root_version, owner, version) instead of a full scan for `<>`.
    wrappedBelow: p(
      `SELECT ${KEK_COLUMNS} FROM kek_versions WHERE root_version < ? ORDER BY root_version, owner, version LIMIT ?`,
    ),
    wrappedAbove: p(
      `SELECT ${KEK_COLUMNS} FROM kek_versions WHERE root_version > ? ORDER BY root_version, owner, version LIMIT ?`,
    ),
    deleteKeks: p("DELETE FROM kek_versions WHERE owner = ?"),
    deleteKeksBelow: p("DELETE FROM kek_versions WHERE owner = ? AND version < ?"),
    countNotWrappedBy: p("SELECT count(*) FROM kek_versions WHERE root_version <> ?").pluck(),
    deleteState: p("DELETE FROM user_keys WHERE owner = ?"),
  };
}

export class SqliteKeyStore implements KeyStore {
  readonly #db: Db;
  readonly #s: ReturnType<typeof prepareStatements>;
  #closed = false;

  static open(file: string, opts: { emergency?: EmergencySpace } = {}): SqliteKeyStore {
    // Small rows: the default page size; every write here is a key change and stays synchronous=FULL.
    return new SqliteKeyStore(
      openDatabase(file, KEYS_SCHEMA, { pageSize: 4096, walAutocheckpointPages: 1000, secureDelete: true }),
      opts.emergency ?? null,
    );
  }

  private constructor(
    db: Db,
    /** Key changes go on when the disk is full: they may use the emergency space (emergency-space.ts). */
    private readonly emergency: EmergencySpace | null,
  ) {
    this.#db = db;
    this.#s = prepareStatements(db);
  }

  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storageFault(err) ?? err;
    }
  }

  #write<T>(fn: () => T): T {
    return this.#guard(() => withEmergencyRoom(this.emergency, () => this.#db.transaction(fn).immediate()));
  }

  async createUserKey(state: UserKeyState, first: KekVersionRecord): Promise<void> {
    try {
      this.#write(() => {
        this.#s.insertState.run(state.owner, state.primaryVersion, state.minDecryptionVersion);
        this.#insertKek(first);
      });
    } catch (err) {
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE"))
        throw new AppError("conflict", "the user already has a key");
      throw err;
    }
  }

  #insertKek(rec: KekVersionRecord): void {
    this.#s.insertKek.run(rec.owner, rec.version, rec.rootVersion, rec.wrappedKek, rec.created.getTime());
  }

  async getUserKeyState(owner: string): Promise<UserKeyState | null> {
    const row = this.#guard(() => this.#s.getState.get(owner)) as StateRow | undefined;
    return row ? toState(row) : null;
  }

  async listKekVersions(owner: string): Promise<KekVersionRecord[]> {
    return (this.#guard(() => this.#s.listKeks.all(owner)) as KekRow[]).map(toKek);
  }

  async getKekVersion(owner: string, version: number): Promise<KekVersionRecord | null> {
    const row = this.#guard(() => this.#s.getKek.get(owner, version)) as KekRow | undefined;
    return row ? toKek(row) : null;
  }

  async addKekVersion(rec: KekVersionRecord): Promise<void> {
    try {
      this.#write(() => {
        this.#insertKek(rec);
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
    const { changes } = this.#write(() => {
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
    this.#write(() => {
      for (const r of rewraps) this.#s.rewrap.run(r.rootVersion, r.wrappedKek, r.owner, r.version);
    });
  }

  async kekVersionsNotWrappedBy(rootVersion: number, limit: number): Promise<KekVersionRecord[]> {
    if (limit <= 0) return [];
    const rows = this.#guard(() => {
      const below = this.#s.wrappedBelow.all(rootVersion, limit) as KekRow[];
      if (below.length >= limit) return below;
      return below.concat(this.#s.wrappedAbove.all(rootVersion, limit - below.length) as KekRow[]);
    });
    return rows.map(toKek);
  }

  async countKekVersionsNotWrappedBy(rootVersion: number): Promise<number> {
    return this.#guard(() => this.#s.countNotWrappedBy.get(rootVersion)) as number;
  }

  async destroyUserKeys(owner: string): Promise<void> {
    this.#write(() => {
      this.#s.deleteKeks.run(owner);
      this.#s.deleteState.run(owner);
    });
    this.#checkpoint();
  }

  #checkpoint(): void {
    // secure_delete zeroed the freed pages in the WAL; copy them over the file and drop the WAL so
    // neither the file nor the log keeps the old bytes.
    const [res] = this.#guard(() => this.#db.pragma("wal_checkpoint(TRUNCATE)")) as { busy: number }[];
    if (res?.busy !== 0) {
      // Retrying is safe: the rows are gone, only the checkpoint is left to do.
      throw new StorageUnavailableError(new Error("keys.db checkpoint was blocked by another connection"));
    }
  }

  async ping(): Promise<void> {
    this.#guard(() => this.#s.ping.get());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#guard(() => this.#db.close());
  }
}
