// Users and their tokens: creation with a key-encryption key of their own, deletion with crypto-
// shredding, token issue, listing and revocation. Every change is logged for audit, never a secret.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import { enrolledError } from "../store/account-errors.js";
import { type AccountStore, type HeldLock, UserOwnsObjects } from "../store/account-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { Role, TokenRecord, UserRecord } from "../store/records.js";
import { Credentials } from "./credential-cache.js";
import type { Principal } from "./principal.js";
import { generateToken, hashToken, isTokenId, tokenLookupId } from "./token-format.js";
import { grantToken, type TokenGrant, type TokenRequest } from "./token-grant.js";
import { validateUserName } from "./user-name.js";

/** Rounds of deleting a user's objects before its account, when writes keep landing in between. */
const DELETE_ROUNDS = 3;

export interface IssuedToken {
  record: TokenRecord;
  /** The whole token: returned once, never stored or logged. */
  token: string;
}

export class UserService {
  readonly #accounts: AccountStore;
  /** For deleting a user's objects. */
  readonly #objects: ObjectStore;
  readonly #keys: KeyService;
  readonly #logger: Logger;

  constructor(
    accounts: AccountStore,
    objects: ObjectStore,
    keys: KeyService,
    logger: Logger,
    /** Credentials this process resolved recently: every revocation here drops them at once. */
    readonly credentials: Credentials = new Credentials(),
  ) {
    this.#accounts = accounts;
    this.#objects = objects;
    this.#keys = keys;
    this.#logger = logger;
  }

  async create(name: string, role: Role, actor?: Principal): Promise<UserRecord> {
    validateUserName(name);
    if (role !== "admin" && role !== "user")
      throw new AppError("validation_error", "role must be admin or user");
    if (await this.#accounts.getUserByName(name))
      throw new AppError("user_exists", `user ${name} already exists`);
    const user: UserRecord = { uid: randomUUID(), name, role, created: new Date(), enrolledAt: null };
    // Key first: a user row without a key would be unusable; an orphan key is harmless.
    await this.#keys.createUserKey(user.uid);
    try {
      await this.#accounts.createUser(user);
    } catch (err) {
      await this.#keys.destroyUserKeys(user.uid).catch(() => undefined);
      throw err;
    }
    this.#logger.info({ user: name, role, by: actor?.user.name }, "user created");
    return user;
  }

  /** The named user; 404 when there is none (and 400 for a name that could not exist). */
  async get(name: string): Promise<UserRecord> {
    validateUserName(name);
    const user = await this.#accounts.getUserByName(name);
    if (!user) throw new AppError("not_found", `no user named ${name}`);
    return user;
  }

  /** The name of the user with this uid; null when it has been deleted. */
  async nameOf(uid: string): Promise<string | null> {
    return (await this.#accounts.getUserByUid(uid))?.name ?? null;
  }

  list(): Promise<UserRecord[]> {
    return this.#accounts.listUsers();
  }

  /**
   * Deletes a user, its credentials (tokens, S3 access keys) and its objects, and destroys its
   * keys, so that no copy of its ciphertext can be decrypted again. An admin cannot delete itself,
   * and the last admin stays.
   */
  async delete(actor: Principal, name: string): Promise<void> {
    // One deletion at a time across every process on the store: two admins deleting each other
    // at once must not leave none (the second one's check sees the first one's outcome).
    return this.#accounts.exclusively("user deletion", (held) => this.#deleteNow(actor, name, held));
  }

  async #deleteNow(actor: Principal, name: string, held: HeldLock): Promise<void> {
    const user = await this.get(name);
    if (user.uid === actor.user.uid)
      throw new AppError("cannot_delete_self", "a user cannot delete itself; another admin can");
    if (user.role === "admin") {
      const admins = (await this.#accounts.listUsers()).filter((u) => u.role === "admin");
      if (admins.length <= 1) throw new AppError("last_admin", "the last admin cannot be deleted");
    }
    // The checks above stand only while no other deletion runs: make sure the exclusion still
    // holds before the step nothing undoes (on PostgreSQL it ends with its connection).
    await held.confirm();
    // Keys first: from then on the user's data is unreadable, whatever fails next. Each step is
    // idempotent, so retrying a deletion that failed or crashed half-way finishes it.
    await this.#keys.destroyUserKeys(user.uid);
    this.credentials.forgetUser(user.uid);
    await this.#deleteObjectsThenAccount(user.uid);
    this.credentials.forgetUser(user.uid);
    // A request that unwrapped a KEK during the deletion may have cached it again.
    this.#keys.cache.forgetOwner(user.uid);
    this.#logger.info({ user: name, by: actor.user.name }, "user deleted; its keys are destroyed");
  }

  /**
   * The user's objects and uploads, then its credentials and itself: objects refer to the user, so
   * they go first. A write that slips in between (it wrapped its data key before the keys went) makes
   * deleteUser refuse with UserOwnsObjects: the objects are deleted again, a few rounds at most.
   */
  async #deleteObjectsThenAccount(uid: string): Promise<void> {
    for (let round = 1; ; round++) {
      await this.#objects.deleteOwnerObjects(uid);
      try {
        await this.#accounts.deleteUser(uid);
        return;
      } catch (err) {
        if (!(err instanceof UserOwnsObjects) || round >= DELETE_ROUNDS) throw err;
      }
    }
  }

  /**
   * Issues a token to the named user. It never exceeds the token that asks for it, in scopes or in
   * lifetime (see grantToken). An admin issues another user's tokens only while that user is
   * enrolling (403 enrolled afterwards): once a user has used a credential of its own, nobody else
   * can obtain one of its credentials without resetting it, which revokes them all.
   */
  async issueToken(actor: Principal, name: string, req: TokenRequest): Promise<IssuedToken> {
    const user = await this.get(name);
    const self = user.uid === actor.user.uid;
    if (!self && user.enrolledAt !== null) throw enrolledError();
    const grant = grantToken(req, new Date(), actor.token);
    const t = generateToken();
    const record = tokenRecord(user, t.token, t.id, grant, actor.user.name);
    await this.#accounts.createToken(record, { onlyWhileEnrolling: !self });
    this.#logger.info(
      { user: name, tokenId: record.id, scopes: record.scopes, by: actor.user.name },
      "token issued",
    );
    return { record, token: t.token };
  }

  /**
   * Break-glass: revokes every credential of the named user at once, makes it enrolling again and
   * issues its one new enrollment token (listed with issuedBy "reset"). Never silent: the user's
   * tools stop working, and the event is logged at warn.
   */
  async reset(actor: Principal, name: string, req: TokenRequest): Promise<IssuedToken & { revoked: number }> {
    const user = await this.get(name);
    if (user.uid === actor.user.uid)
      throw new AppError("cannot_reset_self", "a user cannot reset itself; revoke its tokens one by one");
    const grant = grantToken(req, new Date(), actor.token);
    const t = generateToken();
    const record = tokenRecord(user, t.token, t.id, grant, ISSUED_BY_RESET);
    const revoked = await this.#accounts.resetUser(user.uid, record);
    this.credentials.forgetUser(user.uid);
    if (revoked === null) throw new AppError("not_found", `no user named ${name}`);
    this.#logger.warn(
      { user: name, by: actor.user.name, revokedCredentials: revoked, tokenId: record.id },
      "user reset: every credential revoked, one new enrollment token issued",
    );
    return { record, token: t.token, revoked };
  }

  /** Stores a token that already exists as a string (the bootstrap token); only its hash is kept. */
  async storeGivenToken(
    user: UserRecord,
    token: string,
    req: TokenRequest,
    issuedBy: string,
  ): Promise<TokenRecord> {
    const record = tokenRecord(user, token, tokenLookupId(token), grantToken(req, new Date()), issuedBy);
    await this.#accounts.createToken(record);
    return record;
  }

  async listTokens(name: string): Promise<TokenRecord[]> {
    const user = await this.get(name);
    return this.#accounts.listTokens(user.uid);
  }

  /**
   * Revokes one of the named user's tokens: refused from the next request on this process, and
   * within a second on every other one (credential-cache.ts).
   */
  async revokeToken(actor: Principal, name: string, tokenId: string): Promise<void> {
    const user = await this.get(name);
    const deleted = isTokenId(tokenId) && (await this.#accounts.deleteToken(user.uid, tokenId));
    this.credentials.tokens.forget(tokenId);
    if (!deleted) throw new AppError("not_found", "no such token");
    this.#logger.info({ user: name, tokenId, by: actor.user.name }, "token revoked");
  }
}

/** `issuedBy` of the token that a reset issues. */
export const ISSUED_BY_RESET = "reset";

function tokenRecord(
  user: UserRecord,
  token: string,
  id: string,
  grant: TokenGrant,
  issuedBy: string,
): TokenRecord {
  return {
    id,
    uid: user.uid,
    label: grant.label,
    scopes: grant.scopes,
    secretHash: hashToken(token),
    created: new Date(),
    lastUsed: null,
    expiresAt: grant.expiresAt,
    issuedBy,
  };
}
