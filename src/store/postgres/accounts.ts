// The AccountStore on PostgreSQL: users and their credentials (tokens, S3 access keys), in the
// schema of the objects that refer to them. `exclusively` is an advisory lock, so it holds across every process on the database.
import { credentialIdTaken, enrolledError, uidTaken, userMissing, userNameTaken } from "../account-errors.js";
import {
  type AccountStore,
  type CreateTokenOptions,
  type HeldLock,
  UserOwnsObjects,
} from "../account-store.js";
import type { AccessKeyRecord, TokenRecord, UserRecord } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { ACCESS_KEYS, pgInsert, TOKEN_USER_COLUMNS, TOKENS, USERS, valuesOf } from "../rows.js";
import type { PgDatabase } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

type UserRow = Rows.UserRow<Date>;
type TokenRow = Rows.TokenRow<Date, string[]>;
type TokenUserRow = Rows.TokenUserRow<Date, string[]>;
type AccessKeyRow = Rows.AccessKeyRow<Date, string[]>;
type AccessKeyUserRow = Rows.AccessKeyUserRow<Date, string[]>;
const {
  toUser,
  fromUser,
  toToken,
  fromToken,
  toTokenWithUser,
  toAccessKey,
  fromAccessKey,
  toAccessKeyWithUser,
} = postgresRows;

const INSERT_TOKEN = pgInsert(TOKENS);
const tokenValues = (t: TokenRecord) => valuesOf(TOKENS.names, fromToken(t));
const INSERT_ACCESS_KEY = pgInsert(ACCESS_KEYS);
const accessKeyValues = (k: AccessKeyRecord) => valuesOf(ACCESS_KEYS.names, fromAccessKey(k));

export class PostgresAccountStore implements AccountStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  // --- users ---------------------------------------------------------------------------------------

  async countUsers(): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>("SELECT count(*) AS n FROM users");
    return row?.n ?? 0;
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      await this.#db.query(pgInsert(USERS), valuesOf(USERS.names, fromUser(user)));
    } catch (err) {
      if (isConstraint(err, "unique", "users_name_key")) throw userNameTaken();
      if (isConstraint(err, "unique")) throw uidTaken();
      throw err;
    }
  }

  async getUserByName(name: string): Promise<UserRecord | null> {
    const [row] = await this.#db.query<UserRow>(`SELECT ${USERS.list} FROM users WHERE name = $1`, [name]);
    return row ? toUser(row) : null;
  }

  async getUserByUid(uid: string): Promise<UserRecord | null> {
    const [row] = await this.#db.query<UserRow>(`SELECT ${USERS.list} FROM users WHERE uid = $1`, [uid]);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.#db.query<UserRow>(`SELECT ${USERS.list} FROM users ORDER BY name`);
    return rows.map(toUser);
  }

  async markEnrolled(uid: string, at: Date): Promise<void> {
    await this.#db.query("UPDATE users SET enrolled_at = $1 WHERE uid = $2 AND enrolled_at IS NULL", [
      at,
      uid,
    ]);
  }

  async deleteUser(uid: string): Promise<boolean> {
    try {
      return await this.#db.tx("durable", async (q) => {
        await q.query("DELETE FROM tokens WHERE uid = $1", [uid]);
        await q.query("DELETE FROM access_keys WHERE uid = $1", [uid]);
        const gone = await q.query("DELETE FROM users WHERE uid = $1 RETURNING 1", [uid]);
        return gone.length > 0;
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new UserOwnsObjects();
      throw err;
    }
  }

  // --- tokens --------------------------------------------------------------------------------------

  async createToken(token: TokenRecord, opts: CreateTokenOptions = {}): Promise<void> {
    await this.#insertCredential(token.uid, opts, "token", INSERT_TOKEN, tokenValues(token));
  }

  /** Inserts a credential of user `uid`; with `onlyWhileEnrolling`, checks in the same transaction that the user has not enrolled. */
  async #insertCredential(
    uid: string,
    opts: CreateTokenOptions,
    what: string,
    insert: string,
    values: unknown[],
  ): Promise<void> {
    try {
      if (!opts.onlyWhileEnrolling) {
        await this.#db.query(insert, values);
        return;
      }
      await this.#db.tx("durable", async (q) => {
        // FOR SHARE waits for a first authentication's UPDATE in flight and reads its outcome.
        const [user] = await q.query<{ enrolled: boolean }>(
          "SELECT enrolled_at IS NOT NULL AS enrolled FROM users WHERE uid = $1 FOR SHARE",
          [uid],
        );
        if (!user) throw userMissing();
        if (user.enrolled) throw enrolledError();
        await q.query(insert, values);
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw userMissing();
      if (isConstraint(err, "unique")) throw credentialIdTaken(what);
      throw err;
    }
  }

  async resetUser(uid: string, token: TokenRecord): Promise<number | null> {
    return this.#db.tx("durable", async (q) => {
      const found = await q.query("SELECT 1 FROM users WHERE uid = $1 FOR UPDATE", [uid]);
      if (found.length === 0) return null;
      const tokens = await q.query("DELETE FROM tokens WHERE uid = $1 RETURNING 1", [uid]);
      const accessKeys = await q.query("DELETE FROM access_keys WHERE uid = $1 RETURNING 1", [uid]);
      await q.query("UPDATE users SET enrolled_at = NULL WHERE uid = $1", [uid]);
      await q.query(INSERT_TOKEN, tokenValues(token));
      return tokens.length + accessKeys.length;
    });
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const [row] = await this.#db.query<TokenRow>(`SELECT ${TOKENS.list} FROM tokens WHERE id = $1`, [id]);
    return row ? toToken(row) : null;
  }

  async getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null> {
    const [row] = await this.#db.query<TokenUserRow>(
      `SELECT ${TOKENS.of("t")}, ${TOKEN_USER_COLUMNS} FROM tokens t JOIN users u ON u.uid = t.uid WHERE t.id = $1`,
      [id],
    );
    return row ? toTokenWithUser(row) : null;
  }

  async listTokens(uid: string): Promise<TokenRecord[]> {
    const rows = await this.#db.query<TokenRow>(
      `SELECT ${TOKENS.list} FROM tokens WHERE uid = $1 ORDER BY created, id`,
      [uid],
    );
    return rows.map(toToken);
  }

  async deleteToken(uid: string, id: string): Promise<boolean> {
    const rows = await this.#db.query("DELETE FROM tokens WHERE uid = $1 AND id = $2 RETURNING 1", [uid, id]);
    return rows.length > 0;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    await this.#db.query("UPDATE tokens SET last_used = $1 WHERE id = $2", [at, id]);
  }

  // --- S3 access keys ------------------------------------------------------------------------------

  async createAccessKey(key: AccessKeyRecord, opts: CreateTokenOptions = {}): Promise<void> {
    await this.#insertCredential(key.uid, opts, "access key", INSERT_ACCESS_KEY, accessKeyValues(key));
  }

  async getAccessKeyWithUser(id: string): Promise<{ key: AccessKeyRecord; user: UserRecord } | null> {
    const [row] = await this.#db.query<AccessKeyUserRow>(
      `SELECT ${ACCESS_KEYS.of("k")}, ${TOKEN_USER_COLUMNS} FROM access_keys k JOIN users u ON u.uid = k.uid WHERE k.id = $1`,
      [id],
    );
    return row ? toAccessKeyWithUser(row) : null;
  }

  async listAccessKeys(uid: string): Promise<AccessKeyRecord[]> {
    const rows = await this.#db.query<AccessKeyRow>(
      `SELECT ${ACCESS_KEYS.list} FROM access_keys WHERE uid = $1 ORDER BY created, id`,
      [uid],
    );
    return rows.map(toAccessKey);
  }

  async deleteAccessKey(uid: string, id: string): Promise<boolean> {
    const rows = await this.#db.query("DELETE FROM access_keys WHERE uid = $1 AND id = $2 RETURNING 1", [
      uid,
      id,
    ]);
    return rows.length > 0;
  }

  async touchAccessKey(id: string, at: Date): Promise<void> {
    await this.#db.query("UPDATE access_keys SET last_used = $1 WHERE id = $2", [at, id]);
  }

  async countAccessKeysByKekVersion(uid: string): Promise<Map<number, number>> {
    const rows = await this.#db.query<{ v: number; n: number }>(
      "SELECT kek_version AS v, count(*) AS n FROM access_keys WHERE uid = $1 GROUP BY kek_version",
      [uid],
    );
    return new Map(rows.map((r) => [r.v, r.n]));
  }

  async updateAccessKeySecret(
    uid: string,
    id: string,
    kekVersion: number,
    wrappedSecret: Buffer,
  ): Promise<boolean> {
    const rows = await this.#db.query(
      "UPDATE access_keys SET kek_version = $1, wrapped_secret = $2 WHERE uid = $3 AND id = $4 RETURNING 1",
      [kekVersion, wrappedSecret, uid, id],
    );
    return rows.length > 0;
  }

  // --- exclusion -----------------------------------------------------------------------------------

  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    return this.#db.withAdvisoryLock(name, fn);
  }
}
