// When to write a credential's lastUsed: at most once a minute per credential, so that serving a
// request almost never writes. Memory stays bounded whatever the number of credentials in use.

/** lastUsed is written at most this often per credential. */
export const TOUCH_INTERVAL_MS = 60_000;
const MAX_TRACKED = 100_000;

export class TouchThrottle {
  readonly #last = new Map<string, number>();

  /** True when the lastUsed of credential `id` is due for a write at `now`; it then counts as written. */
  due(id: string, now: number): boolean {
    if (now - (this.#last.get(id) ?? 0) < TOUCH_INTERVAL_MS) return false;
    this.#last.set(id, now);
    // Forgetting them all costs one extra write per credential, never a wrong answer.
    if (this.#last.size > MAX_TRACKED) this.#last.clear();
    return true;
  }
}
