// Who is calling: bearer tokens resolved against the store on every request (so a revocation on
// any server instance takes effect on the next request), users and their tokens.
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { ObjectStore, Role, Scope, TokenRecord, UserRecord } from "../store/store.js";
import { generateToken, hashToken, isPlausibleToken, tokenLookupId, tokenMatches } from "./token-format.js";
import { validateUserName } from "./user-name.js";

export interface Principal {
  user: UserRecord;
  token: TokenRecord;
}

export const ALL_SCOPES: readonly Scope[] = ["read", "write"];
/** lastUsed is written at most this often per token, to keep reads free of writes. */
const TOUCH_INTERVAL_MS = 60_000;

export class AuthService {
  private readonly lastTouch = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    private readonly keys: KeyService,
    private readonly logger: Logger,
  ) {}

  /** Resolves a bearer token; null when unknown, expired or malformed. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!isPlausibleToken(token)) return null;
    const rec = await this.store.getToken(tokenLookupId(token));
    if (!rec || !tokenMatches(token, rec.secretHash)) return null;
    const now = Date.now();
    if (rec.expiresAt && rec.expiresAt.getTime() <= now) return null;
    const user = await this.store.getUserByUid(rec.uid);
    if (!user) return null;
    const last = this.lastTouch.get(rec.id) ?? 0;
    if (now - last >= TOUCH_INTERVAL_MS) {
      this.lastTouch.set(rec.id, now);
      if (this.lastTouch.size > 100_000) this.lastTouch.clear();
      rec.lastUsed = new Date(now);
      // Best effort: a failed lastUsed update must not fail the request.
      this.store
        .touchToken(rec.id, rec.lastUsed)
        .catch((err) => this.logger.warn({ err }, "token lastUsed update failed"));
    }
    return { user, token: rec };
  }

  /**
   * First start with no users: creates `admin` with SSE_BOOTSTRAP_TOKEN, or a random token
   * written to `<dataDir>/bootstrap-token` (mode 0600). The token itself is never logged.
   */
  async bootstrap(opts: { token?: string; dataDir: string }): Promise<void> {
    if ((await this.store.countUsers()) > 0) return;
    let user: UserRecord;
    try {
      user = await this.createUser("admin", "admin");
    } catch (err) {
      // Several processes on one database started together: another one bootstrapped.
      if (err instanceof AppError && err.code === "user_exists") {
        this.logger.info("user admin was created by another server process");
        return;
      }
      throw err;
    }
    if (opts.token) {
      await this.storeToken(user, opts.token, tokenLookupId(opts.token), { label: "bootstrap" });
      this.logger.info("created user admin with the token from SSE_BOOTSTRAP_TOKEN");
      return;
    }
    const t = generateToken();
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(opts.dataDir, "bootstrap-token");
    writeFileSync(file, `${t.token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    await this.storeToken(user, t.token, t.id, { label: "bootstrap" });
    this.logger.warn(
      { path: file },
      "created user admin; its token is in this file (mode 0600): read it, then delete the file",
    );
  }

  async createUser(name: string, role: Role): Promise<UserRecord> {
    validateUserName(name);
    if (await this.store.getUserByName(name))
      throw new AppError("user_exists", `user ${name} already exists`);
    const user: UserRecord = { uid: randomUUID(), name, role, created: new Date() };
    // Key first: a user row without a key would be unusable; an orphan key is harmless.
    await this.keys.createUserKey(user.uid);
    try {
      await this.store.createUser(user);
    } catch (err) {
      await this.keys.keyStore.destroyUserKeys(user.uid).catch(() => undefined);
      throw err;
    }
    return user;
  }

  async issueToken(
    user: UserRecord,
    opts: { label?: string | null; scopes?: Scope[]; expiresInSeconds?: number },
  ): Promise<{ record: TokenRecord; token: string }> {
    const t = generateToken();
    const record = await this.storeToken(user, t.token, t.id, opts);
    return { record, token: t.token };
  }

  private async storeToken(
    user: UserRecord,
    token: string,
    id: string,
    opts: { label?: string | null; scopes?: Scope[]; expiresInSeconds?: number },
  ): Promise<TokenRecord> {
    const now = new Date();
    const record: TokenRecord = {
      id,
      uid: user.uid,
      label: opts.label ?? null,
      scopes: opts.scopes && opts.scopes.length > 0 ? [...new Set(opts.scopes)] : [...ALL_SCOPES],
      secretHash: hashToken(token),
      created: now,
      lastUsed: null,
      expiresAt: opts.expiresInSeconds ? new Date(now.getTime() + opts.expiresInSeconds * 1000) : null,
    };
    await this.store.createToken(record);
    return record;
  }

  static bootstrapTokenFile(dataDir: string): string | null {
    const f = path.join(dataDir, "bootstrap-token");
    return existsSync(f) ? f : null;
  }
}
