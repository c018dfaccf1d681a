// Two connections on one objects.db, as two workers (SSE_WORKERS) have: exclusively() excludes
// across them, a dead holder's lock is taken over, a shared store frees no lease of the other and
// sweeps none of its uploads.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openObjectsFile, type SqliteObjectsDatabase } from "../../src/store/sqlite/open.js";

let dir: string;
const open: SqliteObjectsDatabase[] = [];
const file = () => path.join(dir, "objects.db");
const openShared = (shared = true) => {
  const db = openObjectsFile(file(), { shared });
  open.push(db);
  return db;
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-shared-"));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe("an SQLite file shared by server processes", () => {
  it("exclusively() runs one holder at a time across connections", async () => {
    const [a, b] = [openShared(), openShared()];
    let inside = 0;
    let maxInside = 0;
    const order: string[] = [];
    const critical = (who: string) => async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      order.push(`${who} in`);
      // Long enough for the other connection to try (and poll) meanwhile.
      await new Promise((r) => setTimeout(r, 30));
      order.push(`${who} out`);
      inside--;
    };
    await Promise.all([
      a.accounts.exclusively("user deletion", critical("a")),
      b.accounts.exclusively("user deletion", critical("b")),
      a.accounts.exclusively("user deletion", critical("a2")),
    ]);
    expect(maxInside).toBe(1);
    expect(order).toHaveLength(6);
  });

  it("takes over a lock whose holder process is gone, and confirm() fails for a lost lock", async () => {
    const a = openShared();
    const raw = new Database(file());
    // A pid far above any pid_max: no such process.
    raw
      .prepare("INSERT INTO locks (name, holder, pid, until) VALUES (?, ?, ?, ?)")
      .run("user deletion", "dead", 2 ** 30, Date.now() + 60_000);
    const ran = await a.accounts.exclusively("user deletion", async (held) => {
      await held.confirm();
      raw.prepare("UPDATE locks SET holder = 'thief' WHERE name = 'user deletion'").run();
      await expect(held.confirm()).rejects.toThrow();
      return true;
    });
    expect(ran).toBe(true);
    raw.close();
  });

  it("a shared store frees no job lease and sweeps no upload of another process", async () => {
    const a = openShared();
    await a.accounts.createUser({
      uid: "u1",
      name: "alice",
      role: "user",
      created: new Date(),
      enrolledAt: null,
    });
    const writeId = randomBytes(16);
    await a.objects.beginUpload("u1", "doc", writeId);
    const raw = new Database(file());
    raw.exec(
      "INSERT INTO jobs (id, kind, owner, state, done, total, created, updated, lease_owner, lease_until) VALUES ('j1', 'verify', 'u1', 'running', 0, 0, 0, 0, 'w1', 9999999999999)",
    );
    const b = openShared();
    expect(await b.objects.sweepAbandonedUploads()).toBe(0);
    expect(raw.prepare("SELECT lease_owner FROM jobs WHERE id = 'j1'").pluck().get()).toBe("w1");
    expect(await b.jobs.claimJob("w2", 1000)).toBeNull();
    // Alone (the primary before it forks), it frees both.
    const alone = openShared(false);
    expect(raw.prepare("SELECT lease_owner FROM jobs WHERE id = 'j1'").pluck().get()).toBeNull();
    expect(await alone.objects.sweepAbandonedUploads()).toBe(1);
    raw.close();
  });
});
