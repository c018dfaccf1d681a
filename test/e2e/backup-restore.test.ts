// The SQLite backup and restore of docs/OPERATIONS.md, done as written there: an online backup
// with the sqlite3 shell while the server serves, then a new server on the restored files.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].find((p) => existsSync(p));
if (!sqlite3) console.warn("SKIPPED: the sqlite3 shell is not installed (apt-get install sqlite3)");

const open: ServerProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const s of open) {
    await s.stop();
    s.cleanup();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!sqlite3)("SQLite backup and restore (docs/OPERATIONS.md)", () => {
  it("restores what the online backup saw, and nothing written after it", async () => {
    const server = await startServer();
    open.push(server);
    const before = randomBytes(300_000);
    expect((await server.fetch("/data/kept", { method: "PUT", body: before })).status).toBe(201);
    const item = (await (
      await server.fetch("/data", { method: "POST", body: JSON.stringify({ data: "an item" }) })
    ).json()) as {
      id: number;
    };

    const backup = tempDir("sse-backup-");
    dirs.push(backup);
    // The documented commands, objects first, then keys, then the root key file.
    execFileSync(sqlite3!, [
      path.join(server.dataDir, "objects.db"),
      `.backup '${path.join(backup, "objects.db")}'`,
    ]);
    execFileSync(sqlite3!, [
      path.join(server.dataDir, "keys.db"),
      `.backup '${path.join(backup, "keys.db")}'`,
    ]);
    copyFileSync(path.join(server.dataDir, "root.key"), path.join(backup, "root.key"));

    expect((await server.fetch("/data/later", { method: "PUT", body: "after the backup" })).status).toBe(201);
    expect(await server.stop()).toBe(0);

    const restored = await startServer({ dataDir: backup });
    open.push(restored);
    expect((await fetch(`${restored.url}/ready`)).status).toBe(200);
    const got = Buffer.from(await (await restored.fetch("/data/kept")).arrayBuffer());
    expect(got.equals(before)).toBe(true);
    expect(await (await restored.fetch(`/data/${item.id}`)).json()).toEqual({ id: item.id, data: "an item" });
    expect((await restored.fetch("/data/later")).status).toBe(404);
  });
});
