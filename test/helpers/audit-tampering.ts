// The tamperings the offline verifier must catch, each named at the first record it broke, run alike
// against whichever store holds the log (SQLite or PostgreSQL): edits (with and without the hash
// column recomputed), a deletion, a swap, a cut tail, and forged checkpoints.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { AuditKeys, checkpointMessage } from "../../src/audit/audit-keys.js";
import { type CanonicalValue, canonicalJson } from "../../src/audit/canonical-json.js";
import { GENESIS_HASH, type RecordBody, recordHash } from "../../src/audit/record.js";
import type { StoredRecord } from "../../src/audit/verify.js";
import { type AuditLocation, auditVerify, bodiesOf, expectGapless, type StoredAudit } from "./audit-log.js";

/** Whoever forges: a key pair of their own, not the server's. */
const forger = new AuditKeys(Buffer.alloc(32, 0x5a));

/**
 * The records from `from` on, rebuilt as an attacker with write access would: `change` edits a
 * body, then every record is relinked to the one before and rehashed, so that nothing but a
 * checkpoint's signature can tell. `resign`: sign the rebuilt checkpoints with the forger's key.
 */
function rechain(
  rows: readonly StoredRecord[],
  from: number,
  change: (b: RecordBody) => void,
  resign: boolean,
): StoredRecord[] {
  let prev = from === 1 ? GENESIS_HASH : rows[from - 2]!.hash;
  return bodiesOf(rows.slice(from - 1)).map((b) => {
    change(b);
    b.prev = prev;
    if (b.kind === "checkpoint" && resign) {
      const statement = checkpointMessage(b.seq - 1, prev, b.time);
      b.checkpoint = { seq: b.seq - 1, hash: prev, key: forger.keyId, sig: forger.sign(statement) };
    }
    const body = canonicalJson(b as unknown as CanonicalValue);
    prev = recordHash(body);
    return { seq: b.seq, hash: prev, body };
  });
}

interface Tampering {
  what: string;
  /** Damages the log; returns the sequence number the verifier must name. */
  apply(store: StoredAudit): Promise<number>;
  reason: RegExp;
}

/**
 * Runs every tampering on the stopped server's log, one at a time from the intact copy, and checks
 * that `ssestore audit verify` (with the checkpoint file, as an auditor runs it) names it. The log
 * must hold a checkpoint mid-chain with events on both sides, and end with a checkpoint that is in
 * `checkpointsFile` (a server stopped twice writes both).
 */
export async function expectEveryTamperingNamed(
  store: StoredAudit,
  where: AuditLocation,
  publicKeyFile: string,
  checkpointsFile: string,
): Promise<void> {
  const rows = await store.rows();
  expectGapless(rows);
  const bodies = bodiesOf(rows);
  const last = rows.length;
  const checkpoints = bodies.filter((b) => b.kind === "checkpoint").map((b) => b.seq);
  const mid = checkpoints[0]!;
  expect(bodies[last - 1]!.kind, "the log ends with the shutdown checkpoint").toBe("checkpoint");
  expect(mid, "a checkpoint mid-chain, with events before it").toBeGreaterThanOrEqual(6);
  expect(last - mid, "and events after it").toBeGreaterThanOrEqual(5);
  // An event that ended well, before the checkpoint, whose outcome an attacker would like changed.
  const edited = bodies.find((b) => b.seq >= 3 && b.seq < mid - 1 && b.outcome === "ok")!.seq;
  const failed = (b: RecordBody) => {
    if (b.seq === edited) b.outcome = "failed";
  };

  const tamperings: Tampering[] = [
    {
      what: "an event's row edited",
      apply: async (s) => {
        await s.exec(
          `UPDATE audit_events SET body = replace(body, '"outcome":"ok"', '"outcome":"failed"') WHERE seq = ${edited}`,
        );
        return edited;
      },
      reason: /does not match its hash/,
    },
    {
      what: "an event's row edited and its hash column recomputed",
      apply: async (s) => {
        await s.overwrite(rechain(rows, edited, failed, false).slice(0, 1));
        return edited + 1;
      },
      reason: /does not follow/,
    },
    {
      what: "an event deleted",
      apply: async (s) => {
        await s.exec(`DELETE FROM audit_events WHERE seq = ${mid + 1}`);
        return mid + 1;
      },
      reason: /missing/,
    },
    {
      what: "two events swapped",
      apply: async (s) => {
        await s.exec(
          "UPDATE audit_events SET seq = -seq WHERE seq IN (2, 3); UPDATE audit_events SET seq = 3 WHERE seq = -2; UPDATE audit_events SET seq = 2 WHERE seq = -3",
        );
        return 2;
      },
      reason: /reordered|out of order/,
    },
    {
      what: "the tail cut off",
      apply: async (s) => {
        await s.exec(`DELETE FROM audit_events WHERE seq >= ${last - 2}`);
        return last - 2;
      },
      reason: /truncated/,
    },
    {
      what: "an event edited and the chain after it rebuilt, its checkpoints signed by another key",
      apply: async (s) => {
        await s.overwrite(rechain(rows, edited, failed, true));
        return mid;
      },
      reason: /signature/,
    },
    {
      what: "a checkpoint backdated, the chain after it rebuilt",
      apply: async (s) => {
        const backdate = (b: RecordBody) => {
          if (b.seq === mid) b.time = new Date(Date.parse(b.time) - 3_600_000).toISOString();
        };
        await s.overwrite(rechain(rows, mid, backdate, false));
        return mid;
      },
      reason: /signature/,
    },
  ];

  await store.exec("CREATE TABLE audit_intact AS SELECT * FROM audit_events");
  const restore = () =>
    store.exec("DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM audit_intact");
  try {
    for (const t of tamperings) {
      await restore();
      const seq = await t.apply(store);
      const r = await auditVerify(where, publicKeyFile, checkpointsFile);
      expect(r.code, `${t.what}: ${r.out}`).toBe(5);
      expect(r.result?.broken, `${t.what}: ${r.out}`).toMatchObject({
        seq,
        reason: expect.stringMatching(t.reason),
      });
    }
    // The log as it was verifies again; against another key, its first checkpoint is refused.
    await restore();
    const intact = await auditVerify(where, publicKeyFile, checkpointsFile);
    expect(intact.code, intact.out).toBe(0);
    const otherKeyFile = path.join(path.dirname(publicKeyFile), "other-key.pub");
    writeFileSync(otherKeyFile, `ed25519:${forger.publicKey.toString("base64")}`);
    const other = await auditVerify(where, otherKeyFile);
    expect(other.code, other.out).toBe(5);
    expect(other.result?.broken).toMatchObject({ seq: mid, reason: expect.stringMatching(/signature/) });
  } finally {
    await restore();
    await store.exec("DROP TABLE audit_intact");
  }
}
