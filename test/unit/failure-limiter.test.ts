import { describe, expect, it } from "vitest";
import { clientKey, FailureLimiter } from "../../src/auth/failure-limiter.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("FailureLimiter", () => {
  it("limits an address after `limit` failures within the window, and only that address", () => {
    const c = clock();
    const l = new FailureLimiter(3, 60_000, c.now);
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter("10.0.0.1")).toBe(0);
      l.fail("10.0.0.1");
      c.advance(1000);
    }
    expect(l.retryAfter("10.0.0.1")).toBe(57);
    expect(l.retryAfter("10.0.0.2")).toBe(0);
  });

  it("forgets failures older than the window", () => {
    const c = clock();
    const l = new FailureLimiter(2, 10_000, c.now);
    l.fail("a");
    c.advance(6000);
    l.fail("a");
    expect(l.retryAfter("a")).toBe(4);
    c.advance(4000);
    expect(l.retryAfter("a")).toBe(0);
    c.advance(6000);
    expect(l.size).toBe(1);
    expect(l.retryAfter("a")).toBe(0);
    expect(l.size).toBe(0);
  });

  it("never answers less than one second", () => {
    const c = clock();
    const l = new FailureLimiter(1, 1000, c.now);
    l.fail("a");
    c.advance(999);
    expect(l.retryAfter("a")).toBe(1);
  });

  it("keeps memory bounded under a flood from one address and from many", () => {
    const c = clock();
    const l = new FailureLimiter(5, 60_000, c.now, 100);
    for (let i = 0; i < 10_000; i++) l.fail("one");
    expect(l.retryAfter("one")).toBe(60);
    for (let i = 0; i < 1000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(l.size).toBe(100);
    // The most recent failers are the ones remembered.
    for (let i = 0; i < 4; i++) l.fail("10.0.3.231");
    expect(l.retryAfter("10.0.3.231")).toBe(60);
  });

  it("counts IPv4-mapped addresses as IPv4 and IPv6 addresses by /64", () => {
    const l = new FailureLimiter(2, 60_000);
    l.fail("::ffff:192.0.2.7");
    l.fail("192.0.2.7");
    expect(l.retryAfter("192.0.2.7")).toBeGreaterThan(0);
    l.fail("2001:db8:1:2::1");
    l.fail("2001:db8:1:2:ffff:ffff:ffff:fffe");
    expect(l.retryAfter("2001:0db8:0001:0002::99")).toBeGreaterThan(0);
    expect(l.retryAfter("2001:db8:1:3::1")).toBe(0);
  });
});

describe("clientKey", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::1", "0:0:0:0::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["2001:DB8:0:0:1::", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
  ])("%s → %s", (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});
