// The port of accounts: users and their credentials (API tokens and S3 access keys), and the
// exclusion that rare account changes need. Adapters implement it and pass
// test/contract/accounts.contract.ts.
import { AppError } from "../errors.js";
import type { AccessKeyRecord, TokenRecord, UserRecord } from "./records.js";

/** Options of createToken. */
export interface CreateTokenOptions {
  /** Refuse (AppError "enrolled") unless the user is still enrolling: an admin issuing for another user. */
  onlyWhileEnrolling?: boolean;
}

/** The exclusion `exclusively` holds while its function runs. */
export interface HeldLock {
  /** Resolves if the exclusion still holds; throws StorageUnavailableError if it was lost. */
  confirm(): Promise<void>;
}

/** deleteUser's refusal while objects or uploads still refer to the user: delete those first. */
export class UserOwnsObjects extends AppError {
  override name = "UserOwnsObjects";
  constructor() {
    super("conflict", "the user still owns objects or uploads; delete them first");
  }
}

export interface AccountStore {
  // --- users ---------------------------------------------------------------------------------
  countUsers(): Promise<number>;
  /** Throws user_exists when the name is taken. */
  createUser(user: UserRecord): Promise<void>;
  getUserByName(name: string): Promise<UserRecord | null>;
  getUserByUid(uid: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  /** Records the user's first authentication with its own credential (no-op once enrolled). */
  markEnrolled(uid: string, at: Date): Promise<void>;
  /**
   * Removes the user and its credentials in one durable transaction; false when it did not exist.
   * Throws UserOwnsObjects (nothing changes) while objects or uploads of the user remain:
   * ObjectStore.deleteOwnerObjects goes first.
   */
  deleteUser(uid: string): Promise<boolean>;

  // --- tokens --------------------------------------------------------------------------------
  /**
   * Stores a token. With `onlyWhileEnrolling`, checks in the same transaction that the user is still
   * enrolling, so that a first authentication racing with it either comes first (the token is
   * refused with AppError "enrolled") or after (the user authenticates, enrolled from then on).
   */
  createToken(token: TokenRecord, opts?: CreateTokenOptions): Promise<void>;
  /**
   * Break-glass reset, in one durable transaction: revokes every credential of the user (tokens and
   * access keys), makes it enrolling again and stores `token` (its one new enrollment token).
   * Returns how many credentials were revoked, or null when the user does not exist.
   */
  resetUser(uid: string, token: TokenRecord): Promise<number | null>;
  getToken(id: string): Promise<TokenRecord | null>;
  /** A token and its user in one lookup (every authenticated request); null when either is missing. */
  getTokenWithUser(id: string): Promise<{ token: TokenRecord; user: UserRecord } | null>;
  listTokens(uid: string): Promise<TokenRecord[]>;
  deleteToken(uid: string, id: string): Promise<boolean>;
  touchToken(id: string, at: Date): Promise<void>;

  // --- S3 access keys ------------------------------------------------------------------------
  /** Stores an access key; `onlyWhileEnrolling` as for createToken (AppError "enrolled"). */
  createAccessKey(key: AccessKeyRecord, opts?: CreateTokenOptions): Promise<void>;
  /** An access key and its user in one lookup (every S3 request); null when either is missing. */
  getAccessKeyWithUser(id: string): Promise<{ key: AccessKeyRecord; user: UserRecord } | null>;
  listAccessKeys(uid: string): Promise<AccessKeyRecord[]>;
  deleteAccessKey(uid: string, id: string): Promise<boolean>;
  touchAccessKey(id: string, at: Date): Promise<void>;
  /** How many of the user's access key secrets each KEK version wraps (retiring a version needs none). */
  countAccessKeysByKekVersion(uid: string): Promise<Map<number, number>>;
  /** Rewraps one secret (key rewrap); false when the key is gone. */
  updateAccessKeySecret(uid: string, id: string, kekVersion: number, wrappedSecret: Buffer): Promise<boolean>;

  // --- exclusion -----------------------------------------------------------------------------
  /**
   * Runs `fn` while no other `exclusively(name, …)` runs, in this process or in any other process
   * on the same store: for rare changes whose checks must see each other's outcome (deleting an
   * admin must leave one). `fn` may use the stores meanwhile. Before a step it cannot undo, `fn`
   * calls `held.confirm()`, which throws StorageUnavailableError if the exclusion was lost on the
   * way (PostgreSQL ends a lock with its connection).
   */
  exclusively<T>(name: string, fn: (held: HeldLock) => Promise<T>): Promise<T>;
}
