// Counts failed authentications per client address in a sliding window. Only failures count,
// so valid tokens and other clients are never slowed.
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address may try again, or 0 when it is not limited. */
  retryAfter(address: string): number {
    const list = this.prune(address);
    if (!list || list.length < this.limit) return 0;
    const oldest = list[list.length - this.limit]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  fail(address: string): void {
    const list = this.prune(address) ?? [];
    list.push(this.now());
    // Keep only what the decision needs, so a flood cannot grow memory.
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.failures.set(address, list);
    if (this.failures.size > 100_000) this.sweep();
  }

  private prune(address: string): number[] | undefined {
    const list = this.failures.get(address);
    if (!list) return undefined;
    const cutoff = this.now() - this.windowMs;
    while (list.length > 0 && list[0]! <= cutoff) list.shift();
    if (list.length === 0) {
      this.failures.delete(address);
      return undefined;
    }
    return list;
  }

  private sweep(): void {
    for (const k of [...this.failures.keys()]) this.prune(k);
  }
}
