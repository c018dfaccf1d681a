// Credentials this process resolved recently (a token with its user, an access key's secret and
// owner), reused for at most TTL_MS so that a request does not read the store to authenticate.
// A change made through this process (revoking, resetting, deleting the user) drops the entries at
// once, so the next request here is refused; another process sharing a PostgreSQL store refuses
// within TTL_MS (README, "Users and tokens"). Expiry is checked on every use, cached or not.

import type { TokenRecord, UserRecord } from "../store/records.js";
import type { AccessKeyLookup } from "./access-key-service.js";

/** How long another process may still accept a credential revoked elsewhere. */
export const CREDENTIAL_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: T;
  uid: string;
  until: number;
}

export class CredentialCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Bumped by every drop, so that a lookup that raced one does not cache what it read. */
  #generation = 0;

  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs = CREDENTIAL_TTL_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(id: string): T | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (e.until <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return e.value;
  }

  /** Resolves `id` through `load` unless cached; caches a found value unless a drop raced the load. */
  async resolve(id: string, load: () => Promise<{ value: T; uid: string } | null>): Promise<T | null> {
    const hit = this.get(id);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    const found = await load();
    if (!found) return null;
    if (generation === this.#generation) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(id, { value: found.value, uid: found.uid, until: this.#now() + this.#ttlMs });
    }
    return found.value;
  }

  /** Drops one credential (revoked here). */
  forget(id: string): void {
    this.#generation++;
    this.#entries.delete(id);
  }

  /** Drops every credential of a user (reset, deleted). */
  forgetUser(uid: string): void {
    this.#generation++;
    for (const [id, e] of this.#entries) if (e.uid === uid) this.#entries.delete(id);
  }
}

/** The caches every credential change of this process must reach. */
export class Credentials {
  readonly tokens = new CredentialCache<{ token: TokenRecord; user: UserRecord }>();
  readonly accessKeys = new CredentialCache<AccessKeyLookup>();

  forgetUser(uid: string): void {
    this.tokens.forgetUser(uid);
    this.accessKeys.forgetUser(uid);
  }
}
