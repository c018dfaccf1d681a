// The credential cache: a hit for at most the TTL, dropped at once by forget/forgetUser, and a load
// that raced a drop is not cached (it may have read what the drop was about).
import { describe, expect, it } from "vitest";
import { CredentialCache } from "../../src/auth/credential-cache.js";

describe("CredentialCache", () => {
  it("serves a hit until the TTL, then reloads", async () => {
    let now = 1000;
    const cache = new CredentialCache<string>(1000, () => now);
    let loads = 0;
    const load = async () => ({ value: `v${++loads}`, uid: "u1" });
    expect(await cache.resolve("t", load)).toBe("v1");
    now += 999;
    expect(await cache.resolve("t", load)).toBe("v1");
    now += 1;
    expect(await cache.resolve("t", load)).toBe("v2");
    expect(await cache.resolve("nope", async () => null)).toBeNull();
    expect(cache.get("nope")).toBeUndefined();
  });

  it("forget and forgetUser drop at once, only what they name", async () => {
    const cache = new CredentialCache<string>(60_000);
    await cache.resolve("a", async () => ({ value: "a", uid: "u1" }));
    await cache.resolve("b", async () => ({ value: "b", uid: "u1" }));
    await cache.resolve("c", async () => ({ value: "c", uid: "u2" }));
    cache.forget("a");
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, "b", "c"]);
    cache.forgetUser("u1");
    expect([cache.get("b"), cache.get("c")]).toEqual([undefined, "c"]);
  });

  it("does not cache a load that a drop raced", async () => {
    const cache = new CredentialCache<string>(60_000);
    let release: () => void = () => undefined;
    const pending = cache.resolve(
      "t",
      () => new Promise((r) => (release = () => r({ value: "stale", uid: "u" }))),
    );
    cache.forget("t");
    release();
    expect(await pending).toBe("stale");
    expect(cache.get("t")).toBeUndefined();
  });
});
