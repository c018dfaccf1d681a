// S3 access keys: issued under exactly the rules of tokens (scopes and lifetime within the issuing
// token's, an admin only while the user is enrolling), listed without secrets, revoked at once.
// Unlike a token's, the secret itself is needed to check a SigV4 signature, so it is kept wrapped
// under the owner's KEK (docs/FORMAT.md, "Contexts") and unwrapped on each lookup through the KEK
// cache. Secrets are never logged and never shown again after creation.
import type { Logger } from "pino";
import { accessKeyContext, zeroize } from "../crypto/envelope.js";
import { AppError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import { enrolledError } from "../store/account-errors.js";
import type { AccountStore } from "../store/account-store.js";
import type { AccessKeyRecord, Scope, UserRecord } from "../store/records.js";
import {
  generateAccessKeyId,
  generateSecretBytes,
  isAccessKeyId,
  secretString,
} from "./access-key-format.js";
import type { Principal } from "./principal.js";
import { grantToken, type TokenRequest } from "./token-grant.js";
import { TouchThrottle } from "./touch-throttle.js";
import type { UserService } from "./user-service.js";

/** Who signed an S3 request: the user, which of its access keys, and what that key may do. */
export interface AccessKeyCaller {
  user: UserRecord;
  accessKeyId: string;
  scopes: Scope[];
}

/** What the S3 listener needs to check a signature, and whom it then serves. */
export interface AccessKeyLookup {
  /** The secret access key, exactly as the client signs with it: never log it. */
  secret: string;
  caller: AccessKeyCaller;
  /** When the key stops working (checked on every use, cached or not). */
  expiresAt: Date | null;
}

export interface IssuedAccessKey {
  record: AccessKeyRecord;
  /** The secret access key: returned once, never stored in clear or logged. */
  secret: string;
}

export type AccessKeyRequest = TokenRequest;

export class AccessKeyService {
  readonly #touches = new TouchThrottle();
  /** A full disk or an outage fails every key's update: logged once, then summarised. */
  readonly #touchFailures: FailureLog;

  readonly #accounts: AccountStore;
  readonly #users: UserService;
  readonly #keys: KeyService;
  readonly #logger: Logger;

  constructor(accounts: AccountStore, users: UserService, keys: KeyService, logger: Logger) {
    this.#accounts = accounts;
    this.#users = users;
    this.#keys = keys;
    this.#logger = logger;
    this.#touchFailures = new FailureLog(logger, "updating an access key's lastUsed");
  }

  /**
   * Issues an access key to the named user, as UserService.issueToken issues a token: never beyond
   * the actor's own token in scopes or lifetime, and by an admin only while the user is enrolling
   * (403 enrolled afterwards).
   */
  async create(actor: Principal, userName: string, req: AccessKeyRequest): Promise<IssuedAccessKey> {
    const user = await this.#users.get(userName);
    const self = user.uid === actor.user.uid;
    if (!self && user.enrolledAt !== null) throw enrolledError();
    const grant = grantToken(req, new Date(), actor.token, "access key");
    const id = generateAccessKeyId();
    const context = accessKeyContext(user.uid, id);
    const bytes = generateSecretBytes();
    try {
      const wrapped = await this.#keys.wrapDek(user.uid, bytes, context);
      const record: AccessKeyRecord = {
        id,
        uid: user.uid,
        label: grant.label,
        scopes: grant.scopes,
        kekVersion: wrapped.kekVersion,
        wrappedSecret: wrapped.wrappedDek,
        created: new Date(),
        lastUsed: null,
        expiresAt: grant.expiresAt,
        issuedBy: actor.user.name,
      };
      await this.#accounts.createAccessKey(record, { onlyWhileEnrolling: !self });
      // As a write does: a rotation between the wrap and the commit moves the secret to the new
      // primary, so a rewrap and a raised minimum can never pass it by and leave it unreadable.
      const moved = await this.#keys.rewrapIfStale(user.uid, record.kekVersion, bytes, context);
      if (
        moved &&
        (await this.#accounts.updateAccessKeySecret(user.uid, id, moved.kekVersion, moved.wrappedDek))
      ) {
        record.kekVersion = moved.kekVersion;
        record.wrappedSecret = moved.wrappedDek;
      }
      this.#logger.info(
        { user: user.name, accessKeyId: id, scopes: record.scopes, by: actor.user.name },
        "access key issued",
      );
      return { record, secret: secretString(bytes) };
    } finally {
      zeroize(bytes);
    }
  }

  /** The named user's access keys (their records hold the secrets only wrapped; routes never show them). */
  async list(userName: string): Promise<AccessKeyRecord[]> {
    const user = await this.#users.get(userName);
    return this.#accounts.listAccessKeys(user.uid);
  }

  /**
   * Revokes one of the named user's access keys: refused from the next request on this process, and
   * within a second on every other one (credential-cache.ts).
   */
  async revoke(actor: Principal, userName: string, accessKeyId: string): Promise<void> {
    const user = await this.#users.get(userName);
    const deleted =
      isAccessKeyId(accessKeyId) && (await this.#accounts.deleteAccessKey(user.uid, accessKeyId));
    this.#users.credentials.accessKeys.forget(accessKeyId);
    if (!deleted) throw new AppError("not_found", "no such access key");
    this.#logger.info({ user: userName, accessKeyId, by: actor.user.name }, "access key revoked");
  }

  /**
   * For the S3 listener, on every request: the secret of a live access key and whom it serves;
   * null when the id is malformed (no store lookup then), unknown, revoked, expired, or its user
   * or the user's keys are gone. Read from the store each time, so a revocation on any instance
   * holds from the next request; the KEK cache makes the unwrap cheap. Call `authenticated` once
   * the signature has been verified.
   */
  async lookup(accessKeyId: string): Promise<AccessKeyLookup | null> {
    if (!isAccessKeyId(accessKeyId)) return null;
    const hit = await this.#users.credentials.accessKeys.resolve(accessKeyId, async () => {
      const value = await this.#load(accessKeyId);
      return value ? { value, uid: value.caller.user.uid } : null;
    });
    // Expiry is checked on every use, cached or not.
    return hit && !(hit.expiresAt && hit.expiresAt.getTime() <= Date.now()) ? hit : null;
  }

  async #load(accessKeyId: string): Promise<AccessKeyLookup | null> {
    const found = await this.#accounts.getAccessKeyWithUser(accessKeyId);
    if (!found) return null;
    const { key, user } = found;
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return null;
    let bytes: Buffer;
    try {
      bytes = await this.#keys.unwrapDek(
        user.uid,
        key.kekVersion,
        key.wrappedSecret,
        accessKeyContext(user.uid, key.id),
      );
    } catch (err) {
      // The user's keys were destroyed (it is being deleted) or the version retired: the key is dead.
      // Anything else (tampering, the key provider or the store failing) is a fault, and says so.
      if (err instanceof AppError && err.code === "key_destroyed") return null;
      throw err;
    }
    try {
      return {
        secret: secretString(bytes),
        caller: { user, accessKeyId: key.id, scopes: key.scopes },
        expiresAt: key.expiresAt,
      };
    } finally {
      zeroize(bytes);
    }
  }

  /**
   * After a request's signature has been verified: a user's first authenticated request with a
   * credential of its own enrolls it (durably, before the request is served, as for tokens), and
   * lastUsed is written at most once a minute per key, best effort.
   */
  async authenticated(caller: AccessKeyCaller): Promise<void> {
    const { user } = caller;
    const now = Date.now();
    if (user.enrolledAt === null) {
      user.enrolledAt = new Date(now);
      await this.#accounts.markEnrolled(user.uid, user.enrolledAt);
      this.#logger.info(
        { user: user.name, accessKeyId: caller.accessKeyId },
        "user enrolled (first authentication)",
      );
    }
    if (this.#touches.due(caller.accessKeyId, now))
      this.#accounts.touchAccessKey(caller.accessKeyId, new Date(now)).then(
        () => this.#touchFailures.succeeded(),
        (err) => this.#touchFailures.failed(err),
      );
  }
}
