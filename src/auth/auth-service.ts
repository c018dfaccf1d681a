// Who is calling: bearer tokens resolved against the store, or reused for at most a second
// (credential-cache.ts: a revocation through this process applies at once, through another within
// that second), and the first start's admin.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import type { AccountStore } from "../store/account-store.js";
import type { Role, Scope, TokenRecord, UserRecord } from "../store/records.js";
import { Credentials } from "./credential-cache.js";
import type { Principal } from "./principal.js";
import { generateToken, hashMatches, hashToken, isPlausibleToken, tokenLookupId } from "./token-format.js";
import { ALL_SCOPES } from "./token-grant.js";
import { TouchThrottle } from "./touch-throttle.js";
import type { UserService } from "./user-service.js";

export type { Principal } from "./principal.js";
export { ALL_SCOPES };

export const BOOTSTRAP_TOKEN_FILE = "bootstrap-token";
/** `issuedBy` of the first start's admin token (and of tokens issued in-process). */
export const ISSUED_BY_BOOTSTRAP = "bootstrap";

export class AuthService {
  readonly #touches = new TouchThrottle();
  /** A full disk or an outage fails every token's update: logged once, then summarised. */
  readonly #touchFailures: FailureLog;

  readonly #accounts: AccountStore;
  readonly #users: UserService;
  readonly #logger: Logger;
  /** Tokens resolved recently; the services that revoke drop them (credential-cache.ts). */
  readonly #credentials: Credentials;

  constructor(
    accounts: AccountStore,
    users: UserService,
    logger: Logger,
    credentials: Credentials = new Credentials(),
  ) {
    this.#accounts = accounts;
    this.#users = users;
    this.#logger = logger;
    this.#credentials = credentials;
    this.#touchFailures = new FailureLog(logger, "updating a token's lastUsed");
  }

  /** Resolves a bearer token; null when unknown, revoked, expired, malformed or of a deleted user. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!isPlausibleToken(token)) return null;
    // One hash per request: it is both the comparison value and, for a bootstrap token, the lookup id.
    const hash = hashToken(token);
    const id = tokenLookupId(token, hash);
    const found = await this.#credentials.tokens.resolve(id, async () => {
      const f = await this.#accounts.getTokenWithUser(id);
      return f ? { value: f, uid: f.user.uid } : null;
    });
    if (!found || !hashMatches(hash, found.token.secretHash)) return null;
    const { token: rec, user } = found;
    const now = Date.now();
    if (rec.expiresAt && rec.expiresAt.getTime() <= now) return null;
    if (user.enrolledAt === null) {
      // The first use of a credential of its own: from now on only the user issues its credentials.
      // Durable before the request is served, so no admin can issue one after it.
      user.enrolledAt = new Date(now);
      await this.#accounts.markEnrolled(user.uid, user.enrolledAt);
      this.#logger.info({ user: user.name, tokenId: rec.id }, "user enrolled (first authentication)");
    }
    if (this.#touches.due(rec.id, now)) {
      rec.lastUsed = new Date(now);
      // Best effort: a failed lastUsed update must not fail the request.
      this.#accounts.touchToken(rec.id, rec.lastUsed).then(
        () => this.#touchFailures.succeeded(),
        (err) => this.#touchFailures.failed(err),
      );
    }
    return { user, token: rec };
  }

  /**
   * First start with no users: creates the admin `admin` with SSE_BOOTSTRAP_TOKEN, or with a
   * random token written to `<dataDir>/bootstrap-token` (mode 0600). The token is never logged.
   */
  async bootstrap(opts: { token?: string; dataDir: string }): Promise<void> {
    if ((await this.#accounts.countUsers()) > 0) {
      if (opts.token) this.#logger.info("users exist: SSE_BOOTSTRAP_TOKEN is not used");
      return;
    }
    let user: UserRecord;
    try {
      user = await this.#users.create("admin", "admin");
    } catch (err) {
      // Another server instance sharing the store bootstrapped first.
      if (err instanceof AppError && err.code === "user_exists") return;
      throw err;
    }
    if (opts.token) {
      await this.#users.storeGivenToken(user, opts.token, { label: "bootstrap" }, ISSUED_BY_BOOTSTRAP);
      this.#logger.info("created user admin with the token from SSE_BOOTSTRAP_TOKEN");
      return;
    }
    const t = generateToken();
    const file = writeSecretFile(opts.dataDir, BOOTSTRAP_TOKEN_FILE, `${t.token}\n`);
    try {
      await this.#users.storeGivenToken(user, t.token, { label: "bootstrap" }, ISSUED_BY_BOOTSTRAP);
    } catch (err) {
      rmSync(file, { force: true });
      throw err;
    }
    this.#logger.warn(
      { path: file },
      "created user admin; its token is in this file (mode 0600): read it, then delete the file",
    );
  }

  /** In-process user creation without an acting principal (CLI, tests); HTTP goes through UserService. */
  createUser(name: string, role: Role): Promise<UserRecord> {
    return this.#users.create(name, role);
  }

  /** In-process token issue for a user by whoever runs the process (tests; recorded as `issuedBy`). */
  async issueToken(
    user: UserRecord,
    opts: { label?: string | null; scopes?: Scope[]; expiresInSeconds?: number },
    issuedBy = ISSUED_BY_BOOTSTRAP,
  ): Promise<{ record: TokenRecord; token: string }> {
    const t = generateToken();
    const record = await this.#users.storeGivenToken(user, t.token, opts, issuedBy);
    return { record, token: t.token };
  }
}

/** Writes `content` to `dir/name` with mode 0600 from the first byte (temp file, then rename). */
function writeSecretFile(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${randomBytes(6).toString("hex")}`);
  try {
    writeFileSync(tmp, content, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}
