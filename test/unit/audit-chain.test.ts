import { describe, expect, it } from "vitest";
import { AuditKeys, checkpointMessage, formatPublicKey, parsePublicKey } from "../../src/audit/audit-keys.js";
import { canonicalJson } from "../../src/audit/canonical-json.js";
import {
  type ChainHead,
  EMPTY_HEAD,
  GENESIS_HASH,
  parseBody,
  recordHash,
  type SealedRecord,
  seal,
} from "../../src/audit/record.js";
import { ChainVerifier, type StoredRecord } from "../../src/audit/verify.js";

const keys = new AuditKeys(Buffer.alloc(32, 7));
const other = new AuditKeys(Buffer.alloc(32, 8));

function checkpointDraft(k: AuditKeys, head: ChainHead, at: Date) {
  const time = at.toISOString();
  return {
    kind: "checkpoint" as const,
    action: "audit.checkpoint",
    outcome: "ok" as const,
    checkpoint: {
      seq: head.seq,
      hash: head.hash,
      key: k.keyId,
      sig: k.sign(checkpointMessage(head.seq, head.hash, time)),
    },
  };
}

/** n events with a checkpoint after every 4th, as the server writes them. */
function chain(n: number): SealedRecord[] {
  const out: SealedRecord[] = [];
  let head: ChainHead = EMPTY_HEAD;
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const at = new Date(t0 + i * 1000);
    const rec =
      i % 5 === 4
        ? seal(head, checkpointDraft(keys, head, at), at)
        : seal(head, { action: "object.write", outcome: "ok", actor: { uid: "u1", credential: "t1" } }, at);
    out.push(rec);
    head = { seq: rec.seq, hash: rec.hash };
  }
  return out;
}

function verify(records: StoredRecord[], k = keys) {
  const v = new ChainVerifier(k.publicKey);
  for (const r of records) if (!v.add(r)) break;
  return v;
}

describe("canonical JSON", () => {
  it("sorts keys, drops undefined, refuses fractions", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x\n"], c: undefined })).toBe(
      '{"a":[true,null,"x\\n"],"b":1}',
    );
    expect(() => canonicalJson({ a: 1.5 })).toThrow(RangeError);
  });
});

describe("the audit chain", () => {
  it("links each record to the one before, from the genesis hash", () => {
    const recs = chain(3);
    expect(parseBody(recs[0]!.body)!.prev).toBe(GENESIS_HASH);
    expect(parseBody(recs[1]!.body)!.prev).toBe(recs[0]!.hash);
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(recordHash(recs[2]!.body)).toBe(recs[2]!.hash);
  });

  it("has a fixed test vector (docs/AUDIT.md)", () => {
    const rec = seal(
      EMPTY_HEAD,
      {
        action: "user.create",
        outcome: "ok",
        actor: { uid: "a1", credential: "t1" },
        target: { owner: "u2" },
      },
      new Date(Date.UTC(2026, 0, 1)),
    );
    expect(rec.body).toBe(
      '{"action":"user.create","actor":{"credential":"t1","uid":"a1"},"kind":"event","outcome":"ok","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"target":{"owner":"u2"},"time":"2026-01-01T00:00:00.000Z","v":1}',
    );
    expect(rec.hash).toBe(recordHash(rec.body));
    expect(rec.hash).toBe("99b6cd70cdfd5350014bff25e285f65389717d73527ebc83dd31d9ded65e13aa");
  });

  it("signs checkpoints deterministically (docs/AUDIT.md test vector)", () => {
    expect(keys.publicKey.toString("base64")).toBe("6stWkfBNI8pk1c+fliGx5x7GQgx9hZaWF027EbMHjNk=");
    const msg = checkpointMessage(
      1,
      "99b6cd70cdfd5350014bff25e285f65389717d73527ebc83dd31d9ded65e13aa",
      "2026-01-01T00:00:01.000Z",
    );
    expect(keys.sign(msg)).toBe(
      "WFJZDmB79hf52sqXi0n3AeO2GKM3hWYR9jrnFzVB9jaSO63bi012Wq1n35vKuBvHREZDFR8QaFXGIANQ0T9xBQ==",
    );
  });

  it("verifies an intact chain with its checkpoints", () => {
    const v = verify(chain(12));
    expect(v.result).toMatchObject({ ok: true, records: 12, checkpoints: 2, last: 12, lastCheckpointed: 9 });
  });

  it("names a modified record", () => {
    const recs = chain(12);
    recs[6] = { ...recs[6]!, body: recs[6]!.body.replace("object.write", "object.read") };
    expect(verify(recs).result.broken?.seq).toBe(7);
  });

  it("names a modified record whose hash column was recomputed, at the record that no longer follows it", () => {
    const recs = chain(12);
    const body = recs[6]!.body.replace('"uid":"u1"', '"uid":"u9"');
    recs[6] = { ...recs[6]!, body, hash: recordHash(body) };
    expect(verify(recs).result.broken?.seq).toBe(8);
  });

  it("names a deleted record", () => {
    const recs = chain(12);
    recs.splice(5, 1);
    expect(verify(recs).result.broken).toMatchObject({ seq: 6 });
  });

  it("names reordered records", () => {
    const recs = chain(12);
    const a = recs[2]!;
    const b = recs[3]!;
    recs[2] = { ...b, seq: 3 };
    recs[3] = { ...a, seq: 4 };
    expect(verify(recs).result.broken?.seq).toBe(3);
  });

  it("names a forged checkpoint", () => {
    const recs = chain(12);
    const head = { seq: recs[8]!.seq, hash: recs[8]!.hash };
    const forged = seal(
      head,
      checkpointDraft(other, head, new Date(Date.UTC(2026, 0, 2))),
      new Date(Date.UTC(2026, 0, 2)),
    );
    recs[9] = forged;
    expect(verify(recs).result.broken).toMatchObject({ seq: 10 });
    expect(verify(recs).result.broken?.reason).toMatch(/signature/);
  });

  it("accepts a chain pruned to start at a checkpoint, and refuses one that starts elsewhere", () => {
    const recs = chain(12);
    expect(verify(recs.slice(4)).result).toMatchObject({ ok: true, records: 8 });
    expect(verify(recs.slice(5)).result.broken?.seq).toBe(6);
  });

  it("proves a truncated tail with the checkpoints written outside the database", async () => {
    const recs = chain(12);
    const exported = recs
      .filter((r) => parseBody(r.body)!.kind === "checkpoint")
      .map((r) => JSON.stringify(r));
    const truncated = recs.slice(0, 8);
    const v = verify(truncated);
    expect(v.result.ok).toBe(true);
    const byseq = new Map(truncated.map((r) => [r.seq, r.hash]));
    const res = await v.checkExported(exported, async (s) => byseq.get(s) ?? null);
    expect(res.broken).toMatchObject({ seq: 9 });
    const whole = verify(recs);
    const all = new Map(recs.map((r) => [r.seq, r.hash]));
    expect((await whole.checkExported(exported, async (s) => all.get(s) ?? null)).ok).toBe(true);
  });

  it("refuses an exported checkpoint signed by another key", async () => {
    const recs = chain(12);
    const v = verify(recs, other);
    expect(v.result.broken?.seq).toBe(5);
  });

  it("keeps the public key's text form", () => {
    expect(parsePublicKey(formatPublicKey(keys.publicKey)).equals(keys.publicKey)).toBe(true);
    expect(() => parsePublicKey("nonsense")).toThrow(/not an audit public key/);
  });

  it("macs identifiers with the audit key only", () => {
    expect(keys.mac("object", "a.txt")).toBe(keys.mac("object", "a.txt"));
    expect(keys.mac("object", "a.txt")).not.toBe(other.mac("object", "a.txt"));
    expect(keys.mac("object", "a.txt")).not.toContain("a.txt");
  });
});
