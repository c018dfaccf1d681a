// Bounded, expiring cache of unwrapped key-encryption keys, so that neither the HSM nor Argon2id
// sits on the request path. Evicted keys are zeroed.
import { zeroize } from "../crypto/envelope.js";

interface Entry {
  key: Buffer;
  expires: number;
}

export class KekCache {
  readonly #entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(maxEntries: number, ttlMs: number, now: () => number = Date.now) {
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(owner: string, version: number): Buffer | undefined {
    const k = `${owner}:${version}`;
    const e = this.#entries.get(k);
    if (!e) {
      this.misses++;
      return undefined;
    }
    if (e.expires <= this.#now()) {
      this.#drop(k, e);
      this.misses++;
      return undefined;
    }
    // Map order is recency order: re-insert on hit.
    this.#entries.delete(k);
    this.#entries.set(k, e);
    this.hits++;
    return e.key;
  }

  /** Like get, without counting a hit or miss: for a second look after a concurrent unwrap. */
  peek(owner: string, version: number): Buffer | undefined {
    const e = this.#entries.get(`${owner}:${version}`);
    return e && e.expires > this.#now() ? e.key : undefined;
  }

  /** Takes ownership of `key` (and zeroes it on eviction) unless it returns false (cache disabled). */
  set(owner: string, version: number, key: Buffer): boolean {
    if (this.#maxEntries <= 0) return false;
    const k = `${owner}:${version}`;
    const old = this.#entries.get(k);
    if (old) this.#drop(k, old);
    this.#entries.set(k, { key, expires: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const [firstKey, first] = this.#entries.entries().next().value as [string, Entry];
      this.#drop(firstKey, first);
    }
    return true;
  }

  /** Forgets one version (retired). */
  forget(owner: string, version: number): void {
    const k = `${owner}:${version}`;
    const e = this.#entries.get(k);
    if (e) this.#drop(k, e);
  }

  /** Forgets every version of one owner's key (rotation elsewhere, shredding). */
  forgetOwner(owner: string): void {
    const prefix = `${owner}:`;
    for (const [k, e] of this.#entries) if (k.startsWith(prefix)) this.#drop(k, e);
  }

  clear(): void {
    for (const [k, e] of this.#entries) this.#drop(k, e);
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(k: string, e: Entry): void {
    this.#entries.delete(k);
    zeroize(e.key);
  }
}
