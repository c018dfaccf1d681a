// Crypto-shredding against a real server process: after DELETE /users/{name}, restoring a copy of
// objects.db taken before the deletion brings back the user's rows, but none of its data decrypts
// (over HTTP, through verify, or offline with the root key and keys.db in hand), and no plaintext or
// wrapped key of the user is left in any file.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { dekContext } from "../../src/crypto/envelope.js";
import { AppError } from "../../src/errors.js";
import { KeyService } from "../../src/keys/key-service.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<ServerProcess> {
  const s = await startServer({ dataDir, env: { SSE_LOG_LEVEL: "warn" }, token: ADMIN_TOKEN });
  servers.push(s);
  return s;
}

/** The bytes of a database file and its WAL, as they lie on disk. */
function onDisk(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

describe("crypto-shredding", () => {
  it("after a user is deleted, an objects.db restored from before the deletion decrypts nothing of it", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let s = await start(dir);
    const admin = (p: string, init: RequestInit = {}) => s.fetch(p, init);
    const json = { "content-type": "application/json" };
    expect(
      (await admin("/users", { method: "POST", headers: json, body: '{"name":"bob","role":"user"}' })).status,
    ).toBe(201);
    const { token } = await (
      await admin("/users/bob/tokens", { method: "POST", headers: json, body: "{}" })
    ).json();
    const bob = (p: string, init: RequestInit = {}) =>
      fetch(s.url + p, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });

    // Bob's data, marked so that any plaintext copy would be found in the files.
    const marker = `SHRED-ME-${randomBytes(8).toString("hex")}`;
    const bodies = new Map<string, Buffer>([
      ["notes.txt", Buffer.from(`${marker} small`)],
      ["big.bin", Buffer.concat([Buffer.from(marker), randomBytes(150_000), Buffer.from(marker)])],
    ]);
    for (const [id, body] of bodies)
      expect((await bob(`/data/${id}`, { method: "PUT", body: new Uint8Array(body) })).status).toBe(201);
    const item = await (
      await bob("/data", { method: "POST", headers: json, body: JSON.stringify({ data: marker }) })
    ).json();
    await bob("/keys/rotate", { method: "POST" }); // two KEK versions to destroy
    expect((await bob("/data/after-rotation", { method: "PUT", body: marker })).status).toBe(201);
    // The admin's own data must survive the deletion and the restore.
    expect((await admin("/data/keep", { method: "PUT", body: "the admin's" })).status).toBe(201);

    const objectsDb = path.join(dir, "objects.db");
    const keysDb = path.join(dir, "keys.db");
    const objectsConn = new Database(objectsDb, { readonly: true });
    const uid = objectsConn.prepare("SELECT uid FROM users WHERE name = 'bob'").pluck().get() as string;
    objectsConn.close();
    const keysConn = new Database(keysDb, { readonly: true });
    const bobKeks = keysConn
      .prepare("SELECT wrapped_kek FROM kek_versions WHERE owner = ?")
      .pluck()
      .all(uid) as Buffer[];
    keysConn.close();
    expect(bobKeks).toHaveLength(2);

    // A backup of objects.db as an operator takes it: SQLite's online backup of the live file.
    const backup = path.join(path.dirname(dir), `objects-backup-${path.basename(dir)}.db`);
    dirs.push(backup);
    const live = new Database(objectsDb, { readonly: true });
    await live.backup(backup);
    live.close();
    expect(onDisk(backup).includes(marker)).toBe(false);

    expect((await admin("/users/bob", { method: "DELETE" })).status).toBe(204);
    expect((await bob("/data/notes.txt")).status).toBe(401);
    // The wrapped KEK versions are gone from keys.db and its WAL, byte for byte.
    for (const k of bobKeks) expect(onDisk(keysDb).includes(k)).toBe(false);
    expect(await s.stop()).toBe(0);

    // Restore objects.db from the backup: bob's user row, token, objects and wrapped DEKs come back.
    for (const f of [objectsDb, `${objectsDb}-wal`, `${objectsDb}-shm`]) rmSync(f, { force: true });
    writeFileSync(objectsDb, readFileSync(backup), { mode: 0o600 });
    s = await start(dir);

    // Over HTTP: the restored token authenticates again, but no object of bob's decrypts.
    for (const id of [...bodies.keys(), String(item.id), "after-rotation"]) {
      const r = await bob(`/data/${id}`);
      const text = await r.text();
      expect(r.status, `${id}: ${text}`).toBe(410);
      expect(JSON.parse(text).code).toBe("key_destroyed");
      expect(text).not.toContain(marker);
      const ranged = await bob(`/data/${id}`, { headers: { range: "bytes=0-10" } });
      expect(ranged.status).toBe(410);
    }
    expect((await bob("/keys")).status).toBe(410);
    expect(await (await admin("/data/keep")).text()).toBe("the admin's");

    // Verify agrees: every object of bob's is unreadable, the admin's is sound.
    const started = await (await admin("/admin/verify", { method: "POST" })).json();
    let job: {
      state: string;
      done: number;
      result: { damagedCount: number; damaged: { owner: string; id: string; error: string }[] };
    };
    for (;;) {
      job = await (await admin(`/jobs/${started.jobId}`)).json();
      if (job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(job.state).toBe("done");
    expect(job.result.damagedCount).toBe(4);
    for (const d of job.result.damaged) {
      expect(d.owner).toBe("bob");
      expect(d.error).toMatch(/^key_destroyed: /);
    }
    expect(await s.stop()).toBe(0);

    // Offline, with everything an attacker holding the data dir has (root key file, keys.db, the
    // restored objects.db): no data key of bob's unwraps.
    const config = loadConfig({ SSE_DATA_DIR: dir, SSE_LOG_LEVEL: "silent" });
    const logger = pino({ level: "silent" });
    const stores = openSqliteStores(dir);
    const root = createRootKeyProvider({ config, logger });
    await root.open();
    try {
      const keys = new KeyService(stores.keys, root, { cacheSize: 0, cacheTtlMs: 1 });
      const infos = await stores.objects.objectKeyInfo(uid, null, 100);
      expect(infos).toHaveLength(4);
      for (const info of infos) {
        for (const version of [1, 2]) {
          const err = await keys.withKek(uid, version, () => "unwrapped").catch((e: unknown) => e);
          expect(err).toBeInstanceOf(AppError);
        }
        const err = await keys
          .unwrapDek(uid, info.kekVersion, info.wrappedDek, dekContext(uid, info.id, info.writeId))
          .catch((e: unknown) => e);
        expect((err as AppError).code).toBe("key_destroyed");
      }
      expect(await stores.keys.listKekVersions(uid)).toEqual([]);
    } finally {
      await stores.close();
      await root.close();
    }
    // And no plaintext in any file of the data dir.
    for (const f of [objectsDb, keysDb]) expect(onDisk(f).includes(marker), f).toBe(false);
  }, 90_000);
});
