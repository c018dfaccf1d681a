// Checkpoints of processes that share one audit log (PostgreSQL), played by two AuditLogs on one
// real store: none signs another's checkpoint (an idle cluster would otherwise add one per process
// every period, forever), and each exports the checkpoint that covers the head to its own file, so
// either file proves the whole chain.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, expect, it } from "vitest";
import { AuditKeys } from "../../src/audit/audit-keys.js";
import { AuditLog } from "../../src/audit/audit-log.js";
import type { SealedRecord } from "../../src/audit/record.js";
import { ChainVerifier } from "../../src/audit/verify.js";
import { openObjectsFile } from "../../src/store/sqlite/open.js";
import type { ObjectsDatabase } from "../../src/store/stores.js";

let dir: string;
let db: ObjectsDatabase;
const keys = new AuditKeys(Buffer.alloc(32, 7));

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-audit-cp-"));
  db = openObjectsFile(path.join(dir, "objects.db"));
});

afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const member = (name: string) =>
  new AuditLog(db.audit, keys, pino({ level: "silent" }), {
    required: true,
    reads: false,
    checkpointSeconds: 300,
    exportFile: path.join(dir, `${name}.jsonl`),
  });

const exported = (name: string): number[] =>
  readFileSync(path.join(dir, `${name}.jsonl`), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as SealedRecord).seq);

const event = { action: "object.write", outcome: "ok" as const, target: { owner: "u1" } };

it("adds no checkpoint to another process's, and exports the one that covers the head to each file", async () => {
  const a = member("a");
  const b = member("b");
  await a.record(event);
  const first = await a.checkpoint();
  expect(first?.seq).toBe(2);
  // Idle: nothing new to sign, whoever's turn it is.
  for (const p of [b, a, b, a]) expect(await p.checkpoint()).toBeNull();
  expect((await db.audit.head()).seq).toBe(2);
  expect(exported("a")).toEqual([2]);
  expect(exported("b")).toEqual([2]);

  await b.record(event);
  const second = await b.checkpoint();
  expect(second?.seq).toBe(4);
  expect(await a.checkpoint()).toBeNull();
  expect(exported("a")).toEqual([2, 4]);
  expect(exported("b")).toEqual([2, 4]);

  // A restarted process (a new AuditLog) adds none either.
  expect(await member("a").stop()).toBeUndefined();
  expect((await db.audit.head()).seq).toBe(4);

  // Either file proves every record up to the last checkpoint.
  for (const name of ["a", "b"]) {
    const v = new ChainVerifier(keys.publicKey);
    for (const r of await db.audit.range(1, 100)) expect(v.add(r)).toBe(true);
    const lines = readFileSync(path.join(dir, `${name}.jsonl`), "utf8").split("\n");
    expect(await v.checkExported(lines, (seq) => db.audit.hashOf(seq))).toMatchObject({
      ok: true,
      records: 4,
      checkpoints: 2,
      lastCheckpointed: 3,
    });
  }
});
