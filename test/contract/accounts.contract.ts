// The AccountStore contract: every adapter runs this suite unchanged. It talks only to the ports
// (the object port makes the objects that keep a user from being deleted).
import { describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../src/errors.js";
import { UserOwnsObjects } from "../../src/store/account-store.js";
import { expectCode } from "./assertions.js";
import {
  freshObjectsDatabase,
  newAccessKey,
  newMeta,
  newToken,
  newUser,
  type ObjectsFixture,
  seg,
} from "./fixtures.js";

export function accountStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`AccountStore contract: ${name}`, () => {
    const { owner, accounts, objects, db } = freshObjectsDatabase(factory);

    describe("exclusively", () => {
      it("confirms the exclusion it holds", async () => {
        expect(
          await accounts.exclusively("x", async (held) => {
            await held.confirm();
            return "held";
          }),
        ).toBe("held");
      });

      it("runs callers of one name one at a time; other names do not wait; errors pass through", async () => {
        const log: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        const first = accounts.exclusively("x", async () => {
          log.push("first in");
          await held;
          log.push("first out");
          return 1;
        });
        await new Promise((r) => setTimeout(r, 50));
        // Settled into a value at once: it may fail before the test gets to look at it.
        const second = accounts
          .exclusively("x", async () => {
            log.push("second");
            throw new Error("boom");
          })
          .then(
            () => null,
            (err: unknown) => err,
          );
        const third = accounts.exclusively("x", async () => {
          log.push("third");
          return 3;
        });
        // Another name runs at once, and may use the store meanwhile.
        expect(
          await accounts.exclusively("y", async () => (await accounts.listUsers()).length),
        ).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 50));
        expect(log).toEqual(["first in"]);
        release();
        expect(await first).toBe(1);
        expect(await second).toEqual(new Error("boom"));
        expect(await third).toBe(3);
        // The waiters run after the holder (in which order among themselves is not promised).
        expect(log.slice(0, 2)).toEqual(["first in", "first out"]);
        expect(log.slice(2).sort()).toEqual(["second", "third"]);
      });
    });

    describe("users and tokens", () => {
      it("creates, finds and lists users; names are unique", async () => {
        const u = newUser({ role: "admin" });
        await accounts.createUser(u);
        expect(await accounts.getUserByName(u.name)).toEqual(u);
        expect(await accounts.getUserByUid(u.uid)).toEqual(u);
        expect(await accounts.getUserByName("nobody")).toBeNull();
        expect(await accounts.getUserByUid("nobody")).toBeNull();
        expect(await accounts.countUsers()).toBe(2);
        expect((await accounts.listUsers()).map((x) => x.uid).sort()).toEqual([owner, u.uid].sort());
        await expectCode(accounts.createUser(newUser({ name: u.name })), "user_exists");
        expect(await accounts.countUsers()).toBe(2);
      });

      it("stores tokens with their fields and touches lastUsed", async () => {
        const t = newToken(owner);
        await accounts.createToken(t);
        expect(await accounts.getToken(t.id)).toEqual(t);
        const bare = newToken(owner, { label: null, scopes: [], expiresAt: null });
        await accounts.createToken(bare);
        expect(await accounts.getToken(bare.id)).toEqual(bare);
        expect((await accounts.listTokens(owner)).map((x) => x.id).sort()).toEqual([t.id, bare.id].sort());
        const at = new Date(1_700_000_009_000);
        await accounts.touchToken(t.id, at);
        expect((await accounts.getToken(t.id))?.lastUsed?.getTime()).toBe(at.getTime());
        expect(await accounts.getToken("nope")).toBeNull();
        await expectCode(accounts.createToken(newToken("no-such-user")), "not_found");
      });

      it("finds a token with its user in one lookup, and neither once the user is gone", async () => {
        const u = newUser({ role: "admin" });
        await accounts.createUser(u);
        const t = newToken(u.uid, { lastUsed: new Date(1_700_000_004_000) });
        await accounts.createToken(t);
        expect(await accounts.getTokenWithUser(t.id)).toEqual({ token: t, user: u });
        expect(await accounts.getTokenWithUser("nope")).toBeNull();
        await accounts.deleteToken(u.uid, t.id);
        expect(await accounts.getTokenWithUser(t.id)).toBeNull();
        const again = newToken(u.uid);
        await accounts.createToken(again);
        await accounts.deleteUser(u.uid);
        expect(await accounts.getTokenWithUser(again.id)).toBeNull();
      });

      it("records enrollment once, and keeps issuedBy", async () => {
        const u = newUser();
        await accounts.createUser(u);
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt).toBeNull();
        const first = newToken(u.uid, { issuedBy: "root" });
        await accounts.createToken(first, { onlyWhileEnrolling: true });
        expect((await accounts.getToken(first.id))?.issuedBy).toBe("root");
        const at = new Date(1_700_000_010_000);
        await accounts.markEnrolled(u.uid, at);
        await accounts.markEnrolled(u.uid, new Date(1_700_000_020_000));
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt?.getTime()).toBe(at.getTime());
        expect((await accounts.getTokenWithUser(first.id))?.user.enrolledAt?.getTime()).toBe(at.getTime());
        const late = newToken(u.uid);
        await expectCode(accounts.createToken(late, { onlyWhileEnrolling: true }), "enrolled");
        expect(await accounts.getToken(late.id)).toBeNull();
        // The user's own tokens need no such check.
        await accounts.createToken(late);
        expect(await accounts.getToken(late.id)).not.toBeNull();
        await expectCode(
          accounts.createToken(newToken("no-such-user"), { onlyWhileEnrolling: true }),
          "not_found",
        );
      });

      it("resetUser revokes every token, unenrolls and stores the one new token, atomically", async () => {
        const u = newUser({ enrolledAt: new Date(1_700_000_010_000) });
        await accounts.createUser(u);
        const other = newUser();
        await accounts.createUser(other);
        const keep = newToken(other.uid);
        await accounts.createToken(keep);
        const old = [newToken(u.uid), newToken(u.uid, { scopes: ["read"] })];
        for (const t of old) await accounts.createToken(t);
        const fresh = newToken(u.uid, { issuedBy: "reset" });
        expect(await accounts.resetUser(u.uid, fresh)).toBe(2);
        for (const t of old) expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.listTokens(u.uid)).toEqual([fresh]);
        expect((await accounts.getUserByUid(u.uid))?.enrolledAt).toBeNull();
        expect(await accounts.getToken(keep.id)).not.toBeNull();
        expect(await accounts.resetUser("no-such-user", newToken("no-such-user"))).toBeNull();
        // A token id another user holds fails the whole reset: nothing is revoked.
        const second = newToken(u.uid);
        await accounts.createToken(second);
        await expect(accounts.resetUser(u.uid, newToken(u.uid, { id: keep.id }))).rejects.toThrow();
        expect(await accounts.getToken(second.id)).not.toBeNull();
      });

      it("deletes a token only for its own user", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const t = newToken(owner);
        await accounts.createToken(t);
        expect(await accounts.deleteToken(other.uid, t.id)).toBe(false);
        expect(await accounts.deleteToken(owner, t.id)).toBe(true);
        expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.deleteToken(owner, t.id)).toBe(false);
      });

      it("deleteUser removes the user and its tokens, nothing else, once no object or upload refers to it", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const otherToken = newToken(other.uid);
        await accounts.createToken(otherToken);
        const t = newToken(owner);
        await accounts.createToken(t);
        await objects.commitObject(newMeta(owner, "o"), {}, [seg(1)]);
        const up = newMeta(owner, "up");
        await objects.beginUpload(owner, "up", up.writeId);

        // Objects and uploads refer to their owner: deleteUser refuses, and the refusal changes nothing.
        await expect(accounts.deleteUser(owner)).rejects.toBeInstanceOf(UserOwnsObjects);
        expect(await accounts.getUserByUid(owner)).not.toBeNull();
        expect(await accounts.getToken(t.id)).not.toBeNull();
        await objects.deleteObject(owner, "o");
        await expect(accounts.deleteUser(owner)).rejects.toBeInstanceOf(UserOwnsObjects);
        await objects.deleteOwnerObjects(owner);

        expect(await accounts.deleteUser(owner)).toBe(true);
        expect(await accounts.getUserByUid(owner)).toBeNull();
        expect(await accounts.getToken(t.id)).toBeNull();
        expect(await accounts.listTokens(owner)).toEqual([]);
        expect(await accounts.getUserByUid(other.uid)).not.toBeNull();
        expect(await accounts.getToken(otherToken.id)).not.toBeNull();
        // Idempotent: a retry after a crash finishes the deletion.
        expect(await accounts.deleteUser(owner)).toBe(false);
        expect(await accounts.countUsers()).toBe(1);
      });
    });

    describe("S3 access keys", () => {
      it("stores access keys with their fields, lists a user's in creation order, touches lastUsed", async () => {
        const later = newAccessKey(owner, { created: new Date(1_700_000_006_000) });
        const k = newAccessKey(owner);
        const bare = newAccessKey(owner, {
          label: null,
          scopes: ["read"],
          expiresAt: null,
          issuedBy: null,
          kekVersion: 7,
          created: new Date(1_700_000_007_000),
        });
        for (const x of [later, k, bare]) await accounts.createAccessKey(x);
        expect(await accounts.listAccessKeys(owner)).toEqual([k, later, bare]);
        const other = newUser();
        await accounts.createUser(other);
        expect(await accounts.listAccessKeys(other.uid)).toEqual([]);
        expect(await accounts.listAccessKeys("no-such-user")).toEqual([]);

        const at = new Date(1_700_000_009_000);
        await accounts.touchAccessKey(k.id, at);
        const [touched] = await accounts.listAccessKeys(owner);
        expect(touched).toEqual({ ...k, lastUsed: at });
        // Touching an unknown key changes nothing and does not fail.
        await accounts.touchAccessKey("SSEKNOSUCHKEY0000000", at);

        await expectCode(accounts.createAccessKey(newAccessKey("no-such-user")), "not_found");
        // An id is unique across users; the refusal stores nothing.
        await expectCode(accounts.createAccessKey(newAccessKey(other.uid, { id: k.id })), "conflict");
        expect(await accounts.listAccessKeys(other.uid)).toEqual([]);
      });

      it("finds an access key with its user in one lookup, and neither once either is gone", async () => {
        const u = newUser({ role: "admin", enrolledAt: new Date(1_700_000_004_000) });
        await accounts.createUser(u);
        const k = newAccessKey(u.uid, { lastUsed: new Date(1_700_000_008_000) });
        await accounts.createAccessKey(k);
        expect(await accounts.getAccessKeyWithUser(k.id)).toEqual({ key: k, user: u });
        expect(await accounts.getAccessKeyWithUser("SSEKNOSUCHKEY0000000")).toBeNull();
        // A token's id is not an access key's.
        const t = newToken(u.uid);
        await accounts.createToken(t);
        expect(await accounts.getAccessKeyWithUser(t.id)).toBeNull();
        expect(await accounts.deleteAccessKey(u.uid, k.id)).toBe(true);
        expect(await accounts.getAccessKeyWithUser(k.id)).toBeNull();
        const again = newAccessKey(u.uid);
        await accounts.createAccessKey(again);
        expect(await accounts.deleteUser(u.uid)).toBe(true);
        expect(await accounts.getAccessKeyWithUser(again.id)).toBeNull();
        expect(await accounts.listAccessKeys(u.uid)).toEqual([]);
      });

      it("an admin's issue is refused once the user has enrolled, in the same transaction", async () => {
        const u = newUser();
        await accounts.createUser(u);
        const first = newAccessKey(u.uid, { issuedBy: "root" });
        await accounts.createAccessKey(first, { onlyWhileEnrolling: true });
        expect((await accounts.getAccessKeyWithUser(first.id))?.key.issuedBy).toBe("root");
        await accounts.markEnrolled(u.uid, new Date(1_700_000_010_000));
        const late = newAccessKey(u.uid);
        await expectCode(accounts.createAccessKey(late, { onlyWhileEnrolling: true }), "enrolled");
        expect(await accounts.getAccessKeyWithUser(late.id)).toBeNull();
        // The user's own keys need no such check.
        await accounts.createAccessKey(late);
        expect((await accounts.listAccessKeys(u.uid)).map((k) => k.id).sort()).toEqual(
          [first.id, late.id].sort(),
        );
        await expectCode(
          accounts.createAccessKey(newAccessKey("no-such-user"), { onlyWhileEnrolling: true }),
          "not_found",
        );
      });

      it("deletes an access key only for its own user", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const k = newAccessKey(owner);
        await accounts.createAccessKey(k);
        expect(await accounts.deleteAccessKey(other.uid, k.id)).toBe(false);
        expect(await accounts.getAccessKeyWithUser(k.id)).not.toBeNull();
        expect(await accounts.deleteAccessKey(owner, k.id)).toBe(true);
        expect(await accounts.deleteAccessKey(owner, k.id)).toBe(false);
        expect(await accounts.listAccessKeys(owner)).toEqual([]);
      });

      it("counts a user's secrets per KEK version, and rewraps one for its own user only", async () => {
        const other = newUser();
        await accounts.createUser(other);
        const a = newAccessKey(owner, { kekVersion: 1 });
        const b = newAccessKey(owner, { kekVersion: 1 });
        const c = newAccessKey(owner, { kekVersion: 2 });
        for (const k of [a, b, c, newAccessKey(other.uid, { kekVersion: 1 })])
          await accounts.createAccessKey(k);
        expect(await accounts.countAccessKeysByKekVersion(owner)).toEqual(
          new Map([
            [1, 2],
            [2, 1],
          ]),
        );
        expect(await accounts.countAccessKeysByKekVersion("no-such-user")).toEqual(new Map());

        const rewrapped = seg(9, 78);
        expect(await accounts.updateAccessKeySecret(other.uid, a.id, 3, rewrapped)).toBe(false);
        expect(await accounts.updateAccessKeySecret(owner, "SSEKNOSUCHKEY0000000", 3, rewrapped)).toBe(false);
        expect(await accounts.updateAccessKeySecret(owner, a.id, 3, rewrapped)).toBe(true);
        expect((await accounts.getAccessKeyWithUser(a.id))?.key).toEqual({
          ...a,
          kekVersion: 3,
          wrappedSecret: rewrapped,
        });
        expect(await accounts.countAccessKeysByKekVersion(owner)).toEqual(
          new Map([
            [1, 1],
            [2, 1],
            [3, 1],
          ]),
        );
        expect(await accounts.countAccessKeysByKekVersion(other.uid)).toEqual(new Map([[1, 1]]));
      });

      it("resetUser revokes the access keys with the tokens, and counts them", async () => {
        const u = newUser({ enrolledAt: new Date(1_700_000_010_000) });
        await accounts.createUser(u);
        const keep = newAccessKey(owner);
        await accounts.createAccessKey(keep);
        await accounts.createToken(newToken(u.uid));
        const keys = [newAccessKey(u.uid), newAccessKey(u.uid, { scopes: ["read"] })];
        for (const k of keys) await accounts.createAccessKey(k);
        expect(await accounts.resetUser(u.uid, newToken(u.uid, { issuedBy: "reset" }))).toBe(3);
        expect(await accounts.listAccessKeys(u.uid)).toEqual([]);
        for (const k of keys) expect(await accounts.getAccessKeyWithUser(k.id)).toBeNull();
        expect(await accounts.getAccessKeyWithUser(keep.id)).not.toBeNull();
        // A reset that fails (a token id another user holds) revokes no access key either.
        const held = newToken(owner);
        await accounts.createToken(held);
        const survivor = newAccessKey(u.uid);
        await accounts.createAccessKey(survivor);
        await expect(accounts.resetUser(u.uid, newToken(u.uid, { id: held.id }))).rejects.toThrow();
        expect(await accounts.getAccessKeyWithUser(survivor.id)).not.toBeNull();
      });

      it("deleteUser removes the user's access keys and no one else's", async () => {
        const u = newUser();
        await accounts.createUser(u);
        const mine = [newAccessKey(u.uid), newAccessKey(u.uid)];
        for (const k of mine) await accounts.createAccessKey(k);
        const theirs = newAccessKey(owner);
        await accounts.createAccessKey(theirs);
        expect(await accounts.deleteUser(u.uid)).toBe(true);
        for (const k of mine) expect(await accounts.getAccessKeyWithUser(k.id)).toBeNull();
        expect(await accounts.countAccessKeysByKekVersion(u.uid)).toEqual(new Map());
        expect(await accounts.getAccessKeyWithUser(theirs.id)).not.toBeNull();
        // A new user of the same uid (a restored backup, say) inherits none of them.
        await accounts.createUser({ ...u, name: `${u.name}-again` });
        expect(await accounts.listAccessKeys(u.uid)).toEqual([]);
      });
    });

    describe("lifecycle", () => {
      it("reports StorageUnavailableError once its database is closed", async () => {
        await db.close();
        await expect(accounts.getUserByName("x")).rejects.toBeInstanceOf(StorageUnavailableError);
        await expect(accounts.createUser(newUser())).rejects.toBeInstanceOf(StorageUnavailableError);
        await db.close();
      });
    });
  });
}
