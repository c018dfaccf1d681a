// Counts failed authentications per client in a sliding window. Only failures count, so valid
// tokens and other clients are never slowed. Memory stays bounded whatever a flood looks like.
import { isIPv6 } from "node:net";

/** Addresses tracked at most; beyond, the least recently failing are forgotten. */
const DEFAULT_MAX_CLIENTS = 100_000;

export class FailureLimiter {
  /** client → failure times, oldest first; Map order is least recently failing first. */
  readonly #failures = new Map<string, number[]>();

  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxClients: number;

  constructor(
    limit: number,
    windowMs: number,
    now: () => number = Date.now,
    maxClients: number = DEFAULT_MAX_CLIENTS,
  ) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#maxClients = maxClients;
  }

  /** Seconds until the client may try again, or 0 when it is not limited. */
  retryAfter(address: string): number {
    const list = this.#prune(clientKey(address));
    if (!list || list.length < this.#limit) return 0;
    const oldest = list[list.length - this.#limit]!;
    return Math.max(1, Math.ceil((oldest + this.#windowMs - this.#now()) / 1000));
  }

  fail(address: string): void {
    const key = clientKey(address);
    const list = this.#prune(key) ?? [];
    list.push(this.#now());
    // Keep only what the decision needs, so a flood from one client cannot grow memory.
    if (list.length > this.#limit) list.splice(0, list.length - this.#limit);
    this.#failures.delete(key);
    this.#failures.set(key, list);
    // A flood from many addresses: forget the clients that failed least recently.
    while (this.#failures.size > this.#maxClients) {
      const first = this.#failures.keys().next().value as string;
      this.#failures.delete(first);
    }
  }

  /** Clients currently tracked (for tests and metrics). */
  get size(): number {
    return this.#failures.size;
  }

  #prune(key: string): number[] | undefined {
    const list = this.#failures.get(key);
    if (!list) return undefined;
    const cutoff = this.#now() - this.#windowMs;
    while (list.length > 0 && list[0]! <= cutoff) list.shift();
    if (list.length === 0) {
      this.#failures.delete(key);
      return undefined;
    }
    return list;
  }
}

/**
 * The unit a client is counted as: an IPv4 address (also when written IPv4-mapped), or the /64
 * network of an IPv6 address, since one host commonly holds a whole /64.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let addr = address.toLowerCase().replace(/%.*$/, "");
  // A trailing dotted quad (::1.2.3.4) stands for the last two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    addr = `${addr.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => Number.parseInt(g || "0", 16).toString(16));
}
