// The AuditStore contract: every adapter runs this suite unchanged. It talks only to the port.
import { describe, expect, it } from "vitest";
import { AuditKeys, checkpointMessage } from "../../src/audit/audit-keys.js";
import {
  type ChainHead,
  EMPTY_HEAD,
  type EventDraft,
  type SealedRecord,
  seal,
} from "../../src/audit/record.js";
import { ChainVerifier } from "../../src/audit/verify.js";
import type { AuditStore } from "../../src/store/audit-store.js";
import type { ObjectsFixture } from "./fixtures.js";

const keys = new AuditKeys(Buffer.alloc(32, 3));

export function auditStoreContract(name: string, factory: () => Promise<ObjectsFixture>): void {
  describe(`AuditStore contract: ${name}`, () => {
    let fx: ObjectsFixture | undefined;
    const audit = (): AuditStore => fx!.db.audit;
    const open = async () => {
      fx = await factory();
    };
    const close = async () => {
      await fx?.cleanup();
      fx = undefined;
    };
    const event =
      (draft: Partial<EventDraft> = {}, at = new Date()) =>
      (head: ChainHead) =>
        seal(head, { action: "object.write", outcome: "ok", ...draft }, at);

    it("appends one chain that verifies, and reads it back", async () => {
      await open();
      try {
        expect(await audit().head()).toEqual(EMPTY_HEAD);
        const a = await audit().append(event({ actor: { uid: "u1" }, target: { owner: "u1" } }));
        const b = await audit().append(
          event({ actor: { uid: "admin" }, target: { owner: "u1" }, action: "user.reset" }),
        );
        expect([a.seq, b.seq]).toEqual([1, 2]);
        expect(await audit().head()).toEqual({ seq: 2, hash: b.hash });
        const all = await audit().range(1, 100);
        expect(all).toEqual([a, b]);
        const v = new ChainVerifier(keys.publicKey);
        for (const r of all) v.add(r);
        expect(v.result.ok).toBe(true);
        expect(await audit().hashOf(2)).toBe(b.hash);
        expect(await audit().hashOf(3)).toBeNull();
      } finally {
        await close();
      }
    });

    it("appends taken at once form one chain in one order (relaxed and durable alike)", async () => {
      await open();
      try {
        const recs = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            audit().append(event({ detail: `n${i}` }), { relaxed: i % 3 === 0 }),
          ),
        );
        expect(recs.map((r) => r.seq).sort((x, y) => x - y)).toEqual(
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        const v = new ChainVerifier(keys.publicKey);
        for (const r of await audit().range(1, 100)) v.add(r);
        expect(v.result).toMatchObject({ ok: true, records: 40 });
      } finally {
        await close();
      }
    });

    it("finds by time, actor, action (exact or prefix), owner and involvement, paged by sequence number", async () => {
      await open();
      try {
        const t = Date.UTC(2026, 1, 1);
        await audit().append(
          event({ actor: { uid: "a" }, target: { owner: "u" }, action: "user.create" }, new Date(t)),
        );
        await audit().append(event({ actor: { uid: "u" }, target: { owner: "u" } }, new Date(t + 1000)));
        await audit().append(
          event({ actor: { uid: "u" }, target: { owner: "u" }, action: "object.delete" }, new Date(t + 2000)),
        );
        await audit().append(event({ actor: { uid: "x" }, target: { owner: "x" } }, new Date(t + 3000)));
        const seqs = (rs: SealedRecord[]) => rs.map((r) => r.seq);
        expect(seqs(await audit().find({ limit: 10 }))).toEqual([1, 2, 3, 4]);
        expect(seqs(await audit().find({ limit: 2 }))).toEqual([1, 2]);
        expect(seqs(await audit().find({ limit: 2, afterSeq: 2 }))).toEqual([3, 4]);
        expect(seqs(await audit().find({ limit: 10, since: t + 1000, until: t + 3000 }))).toEqual([2, 3]);
        expect(seqs(await audit().find({ limit: 10, actor: "u" }))).toEqual([2, 3]);
        expect(seqs(await audit().find({ limit: 10, owner: "u" }))).toEqual([1, 2, 3]);
        expect(seqs(await audit().find({ limit: 10, involving: "a" }))).toEqual([1]);
        expect(seqs(await audit().find({ limit: 10, involving: "x" }))).toEqual([4]);
        expect(seqs(await audit().find({ limit: 10, action: "object.write" }))).toEqual([2, 4]);
        expect(seqs(await audit().find({ limit: 10, action: "object." }))).toEqual([2, 3, 4]);
        // A prefix is literal: no pattern characters.
        expect(seqs(await audit().find({ limit: 10, action: "%." }))).toEqual([]);
        const [first] = await audit().find({ limit: 1 });
        expect(first).toMatchObject({ seq: 1, actor: "a", owner: "u", action: "user.create", time: t });
      } finally {
        await close();
      }
    });

    it("prunes before a sequence number; the rest, starting at a checkpoint, still verifies and grows", async () => {
      await open();
      try {
        for (let i = 0; i < 3; i++) await audit().append(event());
        await audit().append((head) => {
          const at = new Date();
          const time = at.toISOString();
          return seal(
            head,
            {
              kind: "checkpoint",
              action: "audit.checkpoint",
              outcome: "ok",
              checkpoint: {
                seq: head.seq,
                hash: head.hash,
                key: keys.keyId,
                sig: keys.sign(checkpointMessage(head.seq, head.hash, time)),
              },
            },
            at,
          );
        });
        await audit().append(event());
        expect(await audit().pruneBefore(4)).toBe(3);
        const rest = await audit().range(1, 100);
        expect(rest.map((r) => r.seq)).toEqual([4, 5]);
        const v = new ChainVerifier(keys.publicKey);
        for (const r of rest) v.add(r);
        expect(v.result).toMatchObject({ ok: true, records: 2, checkpoints: 1 });
        expect((await audit().append(event())).seq).toBe(6);
      } finally {
        await close();
      }
    });

    it("keeps every record a resolved append wrote across close and reopen", async () => {
      await open();
      try {
        const recs: SealedRecord[] = [];
        for (let i = 0; i < 5; i++) recs.push(await audit().append(event()));
        expect(await audit().range(1, 10)).toEqual(recs);
      } finally {
        await close();
      }
    });
  });
}
