// The AccountStore on objects.db: users and their credentials (tokens, S3 access keys), beside the
// objects that refer to them.
import { credentialIdTaken, enrolledError, uidTaken, userMissing, userNameTaken } from "../account-errors.js";
import {
  type AccountStore,
  type CreateTokenOptions,
  type HeldLock,
  UserOwnsObjects,
} from "../account-store.js";
import type { AccessKeyRecord, TokenRecord, UserRecord } from "../records.js";
import { sqliteRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { ACCESS_KEYS, sqliteInsert, TOKEN_USER_COLUMNS, TOKENS, USERS } from "../rows.js";
import type { SqliteDatabase } from "./database.js";
import { isConstraint } from "./migrations.js";
import { NamedLocks } from "./named-locks.js";

type UserRow = Rows.UserRow<number>;
type TokenRow = Rows.TokenRow<number, string>;
type TokenUserRow = Rows.TokenUserRow<number, string>;
type AccessKeyRow = Rows.AccessKeyRow<number, string>;
type AccessKeyUserRow = Rows.AccessKeyUserRow<number, string>;
const {
  toUser,
  fromUser,
  toToken,
  fromToken,
  toTokenWithUser,
  toAccessKey,
  fromAccessKey,
  toAccessKeyWithUser,
} = sqliteRows;

/** The in-process exclusion of SQLite cannot be lost while the process runs. */

function prepareStatements(db: SqliteDatabase) {
  const p = db.prepare.bind(db);
  return {
    countUsers: p("SELECT count(*) FROM users").pluck(),
    insertUser: p(sqliteInsert(USERS)),
    userByName: p(`SELECT ${USERS.list} FROM users WHERE name = ?`),
    userByUid: p(`SELECT ${USERS.list} FROM users WHERE uid = ?`),
    listUsers: p(`SELECT ${USERS.list} FROM users ORDER BY name`),
    userEnrolledAt: p("SELECT enrolled_at FROM users WHERE uid = ?"),
    markEnrolled: p("UPDATE users SET enrolled_at = ? WHERE uid = ? AND enrolled_at IS NULL"),
    unenroll: p("UPDATE users SET enrolled_at = NULL WHERE uid = ?"),
    userExists: p("SELECT 1 FROM users WHERE uid = ?").pluck(),
    deleteUserTokens: p("DELETE FROM tokens WHERE uid = ?"),
    deleteUserAccessKeys: p("DELETE FROM access_keys WHERE uid = ?"),
    deleteUser: p("DELETE FROM users WHERE uid = ?"),

    insertToken: p(sqliteInsert(TOKENS)),
    getToken: p(`SELECT ${TOKENS.list} FROM tokens WHERE id = ?`),
    tokenWithUser: p(
      `SELECT ${TOKENS.of("t")}, ${TOKEN_USER_COLUMNS} FROM tokens t JOIN users u ON u.uid = t.uid WHERE t.id = ?`,
    ),
    listTokens: p(`SELECT ${TOKENS.list} FROM tokens WHERE uid = ? ORDER BY created, id`),
    deleteToken: p("DELETE FROM tokens WHERE uid = ? AND id = ?"),
    touchToken: p("UPDATE tokens SET last_used = ? WHERE id = ?"),

    insertAccessKey: p(sqliteInsert(ACCESS_KEYS)),
    accessKeyWithUser: p(
      `SELECT ${ACCESS_KEYS.of("k")}, ${TOKEN_USER_COLUMNS} FROM access_keys k JOIN users u ON u.uid = k.uid WHERE k.id = ?`,
    ),
    listAccessKeys: p(`SELECT ${ACCESS_KEYS.list} FROM access_keys WHERE uid = ? ORDER BY created, id`),
    deleteAccessKey: p("DELETE FROM access_keys WHERE uid = ? AND id = ?"),
    touchAccessKey: p("UPDATE access_keys SET last_used = ? WHERE id = ?"),
    countAccessKeysByKekVersion: p(
      "SELECT kek_version, count(*) AS n FROM access_keys WHERE uid = ? GROUP BY kek_version",
    ),
    updateAccessKeySecret: p(
      "UPDATE access_keys SET kek_version = ?, wrapped_secret = ? WHERE uid = ? AND id = ?",
    ),
  };
}

export class SqliteAccountStore implements AccountStore {
  readonly #db: SqliteDatabase;
  readonly #s: ReturnType<typeof prepareStatements>;
  /** exclusively()'s callers, one at a time per name, in every process on the file. */
  readonly #exclusive: NamedLocks;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#exclusive = new NamedLocks(db);
  }

  // --- users ---------------------------------------------------------------------------------------

  async countUsers(): Promise<number> {
    return this.#db.guard(() => this.#s.countUsers.get()) as number;
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      this.#db.durable(() => this.#s.insertUser.run(fromUser(user)));
    } catch (err) {
      if (isConstraint(err, "UNIQUE")) throw userNameTaken();
      if (isConstraint(err, "PRIMARYKEY")) throw uidTaken();
      throw err;
    }
  }

  async getUserByName(name: string): Promise<UserRecord | null> {
    const row = this.#db.guard(() => this.#s.userByName.get(name)) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async getUserByUid(uid: string): Promise<UserRecord | null> {
    const row = this.#db.guard(() => this.#s.userByUid.get(uid)) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.#db.guard(() => this.#s.listUsers.all()) as UserRow[]).map(toUser);
  }

  async markEnrolled(uid: string, at: Date): Promise<void> {
    this.#db.durable(() => this.#s.markEnrolled.run(at.getTime(), uid));
  }

  async deleteUser(uid: string): Promise<boolean> {
    const s = this.#s;
    try {
      return this.#db.durable(() => {
        s.deleteUserTokens.run(uid);
        s.deleteUserAccessKeys.run(uid);
        return s.deleteUser.run(uid).changes > 0;
      });
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw new UserOwnsObjects();
      throw err;
    }
  }

  // --- tokens --------------------------------------------------------------------------------------

  async createToken(token: TokenRecord, opts: CreateTokenOptions = {}): Promise<void> {
    this.#insertCredential(token.uid, opts, "token", () => this.#s.insertToken.run(fromToken(token)));
  }

  /**
   * Inserts a credential of user `uid` in one durable transaction; with `onlyWhileEnrolling`, checks
   * in it that the user has not enrolled (SQLite runs one transaction at a time, so none slips by).
   */
  #insertCredential(uid: string, opts: CreateTokenOptions, what: string, insert: () => void): void {
    const s = this.#s;
    try {
      this.#db.durable(() => {
        if (opts.onlyWhileEnrolling) {
          const row = s.userEnrolledAt.get(uid) as { enrolled_at: number | null } | undefined;
          if (!row) throw userMissing();
          if (row.enrolled_at !== null) throw enrolledError();
        }
        insert();
      });
    } catch (err) {
      if (isConstraint(err, "FOREIGNKEY")) throw userMissing();
      if (isConstraint(err, "PRIMARYKEY", "UNIQUE")) throw credentialIdTaken(what);
      throw err;
    }
  }

  async resetUser(uid: string, token: TokenRecord): Promise<number | null> {
    const s = this.#s;
    return this.#db.durable(() => {
      if (s.userExists.get(uid) === undefined) return null;
      const revoked = s.deleteUserTokens.run(uid).changes + s.deleteUserAccessKeys.run(uid).changes;
      s.unenroll.run(uid);
      s.insertToken.run(fromToken(token));
      return revoked;
    });
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const row = this.#db.guard(() => this.#s.getToken.get(id)) as TokenRow | undefined;
    return row ? toToken(row) : null;
  }

  async getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null> {
    const row = this.#db.guard(() => this.#s.tokenWithUser.get(id)) as TokenUserRow | undefined;
    return row ? toTokenWithUser(row) : null;
  }

  async listTokens(uid: string): Promise<TokenRecord[]> {
    return (this.#db.guard(() => this.#s.listTokens.all(uid)) as TokenRow[]).map(toToken);
  }

  async deleteToken(uid: string, id: string): Promise<boolean> {
    return this.#db.durable(() => this.#s.deleteToken.run(uid, id)).changes > 0;
  }

  async touchToken(id: string, at: Date): Promise<void> {
    // Every request touches its token: an fsync each would cap the request rate; losing one is harmless.
    this.#db.relaxed(() => this.#s.touchToken.run(at.getTime(), id));
  }

  // --- S3 access keys ------------------------------------------------------------------------------

  async createAccessKey(key: AccessKeyRecord, opts: CreateTokenOptions = {}): Promise<void> {
    this.#insertCredential(key.uid, opts, "access key", () =>
      this.#s.insertAccessKey.run(fromAccessKey(key)),
    );
  }

  async getAccessKeyWithUser(id: string): Promise<{ key: AccessKeyRecord; user: UserRecord } | null> {
    const row = this.#db.guard(() => this.#s.accessKeyWithUser.get(id)) as AccessKeyUserRow | undefined;
    return row ? toAccessKeyWithUser(row) : null;
  }

  async listAccessKeys(uid: string): Promise<AccessKeyRecord[]> {
    return (this.#db.guard(() => this.#s.listAccessKeys.all(uid)) as AccessKeyRow[]).map(toAccessKey);
  }

  async deleteAccessKey(uid: string, id: string): Promise<boolean> {
    return this.#db.durable(() => this.#s.deleteAccessKey.run(uid, id)).changes > 0;
  }

  async touchAccessKey(id: string, at: Date): Promise<void> {
    // As for tokens: at most once a minute per key, and losing one is harmless.
    this.#db.relaxed(() => this.#s.touchAccessKey.run(at.getTime(), id));
  }

  async countAccessKeysByKekVersion(uid: string): Promise<Map<number, number>> {
    const rows = this.#db.guard(() => this.#s.countAccessKeysByKekVersion.all(uid)) as {
      kek_version: number;
      n: number;
    }[];
    return new Map(rows.map((r) => [r.kek_version, r.n]));
  }

  async updateAccessKeySecret(
    uid: string,
    id: string,
    kekVersion: number,
    wrappedSecret: Buffer,
  ): Promise<boolean> {
    const s = this.#s;
    return (
      this.#db.durable(() => s.updateAccessKeySecret.run(kekVersion, wrappedSecret, uid, id)).changes > 0
    );
  }

  // --- exclusion -----------------------------------------------------------------------------------

  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    // Workers (SSE_WORKERS) share the file: the database itself arbitrates (named-locks.ts).
    return this.#exclusive.run(name, fn);
  }
}
