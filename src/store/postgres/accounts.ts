// The AccountStore on PostgreSQL: users and their tokens, in the schema of the objects that refer
// to them. `exclusively` is an advisory lock, so it holds across every process on the database.
import { AppError } from "../../errors.js";
import {
  type AccountStore,
  type CreateTokenOptions,
  type HeldLock,
  UserOwnsObjects,
} from "../account-store.js";
import { enrolledError } from "../enrolled.js";
import type { TokenRecord, UserRecord } from "../records.js";
import { postgresRows } from "../row-mapping.js";
import type * as Rows from "../rows.js";
import { pgInsert, TOKEN_USER_COLUMNS, TOKENS, USERS, valuesOf } from "../rows.js";
import type { PgDatabase } from "./pg-database.js";
import { isConstraint } from "./pg-errors.js";

type UserRow = Rows.UserRow<Date>;
type TokenRow = Rows.TokenRow<Date, string[]>;
type TokenUserRow = Rows.TokenUserRow<Date, string[]>;
const { toUser, fromUser, toToken, fromToken, toTokenWithUser } = postgresRows;

const INSERT_TOKEN = pgInsert(TOKENS);
const tokenValues = (t: TokenRecord) => valuesOf(TOKENS.names, fromToken(t));

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
      if (isConstraint(err, "unique", "users_name_key"))
        throw new AppError("user_exists", "a user with this name already exists");
      if (isConstraint(err, "unique")) throw new AppError("conflict", "a user with this uid already exists");
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
    try {
      if (!opts.onlyWhileEnrolling) {
        await this.#db.query(INSERT_TOKEN, tokenValues(token));
        return;
      }
      await this.#db.tx("durable", async (q) => {
        // FOR SHARE waits for a first authentication's UPDATE in flight and reads its outcome.
        const [user] = await q.query<{ enrolled: boolean }>(
          "SELECT enrolled_at IS NOT NULL AS enrolled FROM users WHERE uid = $1 FOR SHARE",
          [token.uid],
        );
        if (!user) throw new AppError("not_found", "the user does not exist");
        if (user.enrolled) throw enrolledError();
        await q.query(INSERT_TOKEN, tokenValues(token));
      });
    } catch (err) {
      if (isConstraint(err, "foreign_key")) throw new AppError("not_found", "the user does not exist");
      if (isConstraint(err, "unique")) throw new AppError("conflict", "token id already exists");
      throw err;
    }
  }

  async resetUser(uid: string, token: TokenRecord): Promise<number | null> {
    return this.#db.tx("durable", async (q) => {
      const found = await q.query("SELECT 1 FROM users WHERE uid = $1 FOR UPDATE", [uid]);
      if (found.length === 0) return null;
      const revoked = await q.query("DELETE FROM tokens WHERE uid = $1 RETURNING 1", [uid]);
      await q.query("UPDATE users SET enrolled_at = NULL WHERE uid = $1", [uid]);
      await q.query(INSERT_TOKEN, tokenValues(token));
      return revoked.length;
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

  // --- exclusion -----------------------------------------------------------------------------------

  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T> {
    return this.#db.withAdvisoryLock(name, fn);
  }
}
