// The KeyStore contract: every adapter runs this suite unchanged. It talks only to the port.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../src/errors.js";
import type { KeyStore } from "../../src/store/key-store.js";
import type { KekVersionRecord, UserKeyState } from "../../src/store/records.js";
import { expectCode } from "./assertions.js";
import { type KeysFixture, kek } from "./fixtures.js";

export function keyStoreContract(name: string, factory: () => Promise<KeysFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fx: KeysFixture;
    let store: KeyStore;
    const state = (owner: string): UserKeyState => ({ owner, primaryVersion: 1, minDecryptionVersion: 1 });

    beforeEach(async () => {
      fx = await factory();
      store = fx.db.keys;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it("creates a user's key with its first version", async () => {
      const v1 = kek("alice", 1);
      await store.createUserKey(state("alice"), v1);
      expect(await store.getUserKeyState("alice")).toEqual(state("alice"));
      expect(await store.listKekVersions("alice")).toEqual([v1]);
      expect(await store.getKekVersion("alice", 1)).toEqual(v1);
      expect(await store.getKekVersion("alice", 2)).toBeNull();
      expect(await store.getUserKeyState("bob")).toBeNull();
      expect(await store.listKekVersions("bob")).toEqual([]);
      await expectCode(store.createUserKey(state("alice"), kek("alice", 1)), "conflict");
    });

    it("addKekVersion adds a version and makes it primary", async () => {
      const v1 = kek("alice", 1);
      await store.createUserKey(state("alice"), v1);
      const v2 = kek("alice", 2);
      const v3 = kek("alice", 3);
      await store.addKekVersion(v2);
      await store.addKekVersion(v3);
      expect(await store.getUserKeyState("alice")).toEqual({
        owner: "alice",
        primaryVersion: 3,
        minDecryptionVersion: 1,
      });
      expect(await store.listKekVersions("alice")).toEqual([v1, v2, v3]);
      await expectCode(store.addKekVersion(kek("alice", 2)), "conflict");
      expect((await store.getKekVersion("alice", 2))?.wrappedKek.equals(v2.wrappedKek)).toBe(true);
      await expectCode(store.addKekVersion(kek("nobody", 1)), "not_found");
    });

    it("retireKekVersionsBelow raises the minimum and erases the versions below it, nothing else", async () => {
      await store.createUserKey(state("alice"), kek("alice", 1));
      await store.addKekVersion(kek("alice", 2));
      const v3 = kek("alice", 3);
      await store.addKekVersion(v3);
      const bob = kek("bob", 1);
      await store.createUserKey(state("bob"), bob);
      await store.retireKekVersionsBelow("alice", 3);
      expect(await store.getUserKeyState("alice")).toEqual({
        owner: "alice",
        primaryVersion: 3,
        minDecryptionVersion: 3,
      });
      expect(await store.listKekVersions("alice")).toEqual([v3]);
      expect(await store.getKekVersion("alice", 1)).toBeNull();
      expect(await store.getKekVersion("alice", 2)).toBeNull();
      // Never lowers it: the versions below are gone for good.
      await store.retireKekVersionsBelow("alice", 1);
      expect((await store.getUserKeyState("alice"))?.minDecryptionVersion).toBe(3);
      expect(await store.listKekVersions("bob")).toEqual([bob]);
      expect(await store.getUserKeyState("bob")).toEqual(state("bob"));
      await expectCode(store.retireKekVersionsBelow("nobody", 2), "not_found");
    });

    it("root rotation: finds versions wrapped by other root versions, a page at a time, and rewraps them", async () => {
      await store.createUserKey(state("alice"), kek("alice", 1, 1));
      await store.addKekVersion(kek("alice", 2, 2));
      await store.createUserKey(state("bob"), kek("bob", 1, 1));
      await store.addKekVersion(kek("bob", 2, 3));
      const key = (r: KekVersionRecord) => `${r.owner}/${r.version}`;

      const all = await store.kekVersionsNotWrappedBy(2, 10);
      expect(all.map(key).sort()).toEqual(["alice/1", "bob/1", "bob/2"]);
      expect(await store.countKekVersionsNotWrappedBy(2)).toBe(3);
      expect(await store.kekVersionsNotWrappedBy(4, 10)).toHaveLength(4);
      expect(await store.countKekVersionsNotWrappedBy(4)).toBe(4);

      const done = new Set<string>();
      for (;;) {
        const page = await store.kekVersionsNotWrappedBy(4, 3);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        // A page at once, with a version that vanished meanwhile (user deleted): not an error.
        const rewraps = page.map((r) => ({
          owner: r.owner,
          version: r.version,
          rootVersion: 4,
          wrappedKek: randomBytes(72),
        }));
        await store.rewrapKekVersions([
          ...rewraps,
          { owner: "nobody", version: 1, rootVersion: 4, wrappedKek: randomBytes(72) },
        ]);
        for (const [i, r] of page.entries()) {
          const got = await store.getKekVersion(r.owner, r.version);
          expect(got?.rootVersion).toBe(4);
          expect(got?.wrappedKek.equals(rewraps[i]!.wrappedKek)).toBe(true);
          expect(got?.created.getTime()).toBe(r.created.getTime());
          done.add(key(r));
        }
      }
      expect([...done].sort()).toEqual(["alice/1", "alice/2", "bob/1", "bob/2"]);
      expect(await store.kekVersionsNotWrappedBy(4, 10)).toEqual([]);
      expect(await store.countKekVersionsNotWrappedBy(4)).toBe(0);
      await store.rewrapKekVersions([]);
      expect(await store.getKekVersion("nobody", 1)).toBeNull();
    });

    it("destroyUserKeys erases every version and the state, and nothing else", async () => {
      await store.createUserKey(state("alice"), kek("alice", 1));
      await store.addKekVersion(kek("alice", 2));
      const bob = kek("bob", 1);
      await store.createUserKey(state("bob"), bob);
      await store.destroyUserKeys("alice");
      expect(await store.getUserKeyState("alice")).toBeNull();
      expect(await store.listKekVersions("alice")).toEqual([]);
      expect(await store.getKekVersion("alice", 1)).toBeNull();
      expect(await store.kekVersionsNotWrappedBy(9, 10)).toEqual([bob]);
      await store.destroyUserKeys("alice");
      // The name can get a fresh key afterwards.
      await store.createUserKey(state("alice"), kek("alice", 1));
      expect(await store.listKekVersions("alice")).toHaveLength(1);
    });

    it("pings, and reports StorageUnavailableError once closed", async () => {
      await fx.db.ping();
      await fx.db.close();
      await expect(fx.db.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.getUserKeyState("alice")).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.createUserKey(state("x"), kek("x", 1))).rejects.toBeInstanceOf(
        StorageUnavailableError,
      );
      await fx.db.close();
    });
  });
}
