// DownloadLinkService over the real SQLite stores and the file key provider: every reason a link is
// refused, with a controllable clock instead of waiting.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Services } from "../../src/app.js";
import { AppError } from "../../src/errors.js";
import { DownloadLinkService, MAX_LINK_SECONDS } from "../../src/objects/download-link-service.js";
import { encodeClaims, openToken, sealToken } from "../../src/objects/link-token.js";
import type { TokenRecord, UserRecord } from "../../src/store/records.js";
import type { Stores } from "../../src/store/stores.js";
import { openServices, type TestServices } from "../helpers/app.js";

let opened: TestServices;
let stores: Stores;
let services: Services;
let now: number;
let links: DownloadLinkService;

interface Account {
  user: UserRecord;
  token: TokenRecord;
}

async function account(name: string): Promise<Account> {
  const user = await services.auth.createUser(name, "user");
  const { record } = await services.auth.issueToken(user, {});
  return { user, token: record };
}

async function put(owner: Account, id: string, body: string) {
  return services.objects.put({
    owner: owner.user.uid,
    id,
    body: [Buffer.from(body)],
    contentType: "text/plain",
    cond: {},
  });
}

async function link(a: Account, id: string, seconds?: number) {
  return links.create({
    owner: a.user.uid,
    id,
    tokenId: a.token.id,
    tokenExpiresAt: a.token.expiresAt,
    expiresInSeconds: seconds,
  });
}

async function refusal(token: string): Promise<{ code: string; status: number }> {
  try {
    await links.resolve(token);
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, status: err.status };
    throw err;
  }
  throw new Error("the link was accepted");
}

beforeEach(async () => {
  opened = await openServices();
  ({ stores, services } = opened);
  now = Date.UTC(2030, 0, 1);
  links = new DownloadLinkService(stores.objects, stores.accounts, services.keys, () => now);
});

afterEach(async () => {
  await opened.close();
});

describe("download links", () => {
  it("resolve to the object they were made for, until they expire", async () => {
    const alice = await account("alice");
    const { meta } = await put(alice, "docs/a.txt", "hello");
    const made = await link(alice, "docs/a.txt", 60);
    expect(made.expiresAt.getTime()).toBe(now + 60_000);
    expect((await links.resolve(made.token)).etag).toBe(meta.etag);
    now += 59_999;
    expect((await links.resolve(made.token)).id).toBe("docs/a.txt");
    now += 1;
    expect(await refusal(made.token)).toEqual({ code: "link_expired", status: 410 });
  });

  it("default to an hour, accept up to 7 days, refuse anything else", async () => {
    const alice = await account("alice");
    await put(alice, "x", "x");
    expect((await link(alice, "x")).expiresAt.getTime()).toBe(now + 3600_000);
    expect((await link(alice, "x", MAX_LINK_SECONDS)).expiresAt.getTime()).toBe(
      now + MAX_LINK_SECONDS * 1000,
    );
    for (const bad of [0, -1, 1.5, MAX_LINK_SECONDS + 1])
      await expect(link(alice, "x", bad)).rejects.toMatchObject({ code: "validation_error" });
  });

  it("never outlive the token that made them", async () => {
    const alice = await account("alice");
    await put(alice, "x", "x");
    const { record } = await services.auth.issueToken(alice.user, { expiresInSeconds: 30 });
    // issueToken uses the real clock: align ours with it.
    now = Date.now();
    const made = await links.create({
      owner: alice.user.uid,
      id: "x",
      tokenId: record.id,
      tokenExpiresAt: record.expiresAt,
      expiresInSeconds: 3600,
    });
    expect(made.expiresAt.getTime()).toBeLessThanOrEqual(record.expiresAt?.getTime() ?? 0);
  });

  it("are refused once the object is replaced or deleted", async () => {
    const alice = await account("alice");
    await put(alice, "x", "one");
    const made = await link(alice, "x");
    await put(alice, "x", "one");
    expect(await refusal(made.token)).toEqual({ code: "object_changed", status: 410 });
    const again = await link(alice, "x");
    await services.objects.delete(alice.user.uid, "x");
    expect(await refusal(again.token)).toEqual({ code: "object_changed", status: 410 });
  });

  it("are refused when any byte is altered", async () => {
    const alice = await account("alice");
    await put(alice, "x", "x");
    const raw = Buffer.from((await link(alice, "x")).token, "base64url");
    for (const i of [0, 3, 8, 12, raw.length - 40, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      expect((await refusal(bad.toString("base64url"))).status, `byte ${i}`).toBe(403);
    }
    expect(await refusal("not-a-link")).toEqual({ code: "invalid_link", status: 403 });
  });

  it("cannot be pointed at another user's object, even with a valid MAC of the other user", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    await put(alice, "secret", "alice's");
    await put(bob, "secret", "bob's");
    const bobs = openToken((await link(bob, "secret")).token);
    if (!bobs) throw new Error("unparseable");
    // Bob's MAC over claims rewritten to Alice (her uid, her token, her object's ETag): only the
    // MAC, checked under Alice's key, stands in the way.
    const aliceMeta = await stores.objects.getObject(alice.user.uid, "secret");
    const forged = sealToken(
      encodeClaims({
        ...bobs.claims,
        owner: alice.user.uid,
        tokenId: alice.token.id,
        etag: aliceMeta?.etag ?? "",
      }),
      bobs.mac,
    );
    expect(await refusal(forged)).toEqual({ code: "invalid_link", status: 403 });
    // And a link can only be made in the caller's own namespace.
    const carol = await account("carol");
    await expect(link(carol, "secret")).rejects.toMatchObject({ code: "not_found" });
  });

  it("are refused once the token that made them is revoked", async () => {
    const alice = await account("alice");
    await put(alice, "x", "x");
    const made = await link(alice, "x");
    await stores.accounts.deleteToken(alice.user.uid, alice.token.id);
    expect(await refusal(made.token)).toEqual({ code: "invalid_link", status: 403 });
  });

  it("are refused once the signing key version is retired, or the user's keys destroyed", async () => {
    const alice = await account("alice");
    await put(alice, "x", "x");
    const made = await link(alice, "x");
    // Rotate, move the object onto version 2, retire (destroy) version 1, which signed the link.
    await services.keyVersions.rotate(alice.user.uid);
    const current = (await put(alice, "x", "x again")).meta;
    await services.keyVersions.setMinDecryptionVersion(alice.user.uid, 2);
    expect(await refusal(made.token)).toEqual({ code: "invalid_link", status: 403 });
    expect((await links.resolve((await link(alice, "x")).token)).etag).toBe(current.etag);

    const bob = await account("bob");
    await put(bob, "x", "x");
    const bobs = await link(bob, "x");
    await stores.keys.destroyUserKeys(bob.user.uid);
    expect(await refusal(bobs.token)).toEqual({ code: "invalid_link", status: 403 });
  });
});
