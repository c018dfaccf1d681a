// The SQLite backup and restore of docs/OPERATIONS.md, done as written there: an online backup
// with the sqlite3 shell while the server serves, then a new server on the restored files.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { blobFiles } from "../helpers/stored-bytes.js";
import { waitFor } from "../helpers/wait-for.js";

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

  it("while objects are written, replaced and deleted: the restored copy is whole, blob files included", async () => {
    const server = await startServer({ env: { SSE_WORKERS: "1" } });
    open.push(server);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    // Every body ever acknowledged for an id: a restored object must be one of them, byte for byte.
    const written = new Map<string, Set<string>>();
    const replaced = new Map<string, number>();
    const ids = Array.from({ length: 6 }, (_, i) => `load/big-${i}`);
    const put = async (id: string, size: number) => {
      const body = randomBytes(size);
      const r = await server.fetch(`/data/${id}`, { method: "PUT", body });
      if (r.status !== 201 && r.status !== 200) throw new Error(`PUT ${id}: ${r.status} ${await r.text()}`);
      if (!written.has(id)) written.set(id, new Set());
      written.get(id)!.add(sha(body));
      replaced.set(id, (replaced.get(id) ?? 0) + 1);
    };
    // Larger than a batch of segments: their ciphertext lies in blob files.
    for (const id of ids) await put(id, 1_500_000 + Math.floor(Math.random() * 100_000));
    await put("load/small", 5000);

    let stop = false;
    const load = (async () => {
      for (let n = 0; !stop; n++) {
        const id = ids[n % ids.length]!;
        await put(id, 1_100_000 + (n % 7) * 50_000);
        if (n % 5 === 0) {
          const gone = `load/short-lived-${n}`;
          await put(gone, 1_200_000);
          expect((await server.fetch(`/data/${gone}`, { method: "DELETE" })).status).toBe(204);
        }
      }
    })();

    const dataDir = server.dataDir;
    const backup = tempDir("sse-backup-");
    dirs.push(backup);
    // The documented commands: the hold, objects.db, blobs/, keys.db, the root key, the hold lifted.
    const hold = path.join(dataDir, "backup-hold");
    writeFileSync(hold, "");
    execFileSync(sqlite3!, [
      path.join(dataDir, "objects.db"),
      `.backup '${path.join(backup, "objects.db")}'`,
    ]);
    // Every object the snapshot names is replaced before blobs/ is copied: without the hold, their
    // blob files would be reclaimed by now and the copy would miss them.
    const seen = new Map(replaced);
    await waitFor("every object replaced since the snapshot", () =>
      ids.every((id) => (replaced.get(id) ?? 0) > (seen.get(id) ?? 0)),
    );
    execFileSync("cp", ["-a", path.join(dataDir, "blobs"), backup]);
    execFileSync(sqlite3!, [path.join(dataDir, "keys.db"), `.backup '${path.join(backup, "keys.db")}'`]);
    copyFileSync(path.join(dataDir, "root.key"), path.join(backup, "root.key"));
    rmSync(hold);

    stop = true;
    await load;
    // With the hold gone, what it kept is reclaimed: only the current objects' blobs stay.
    await put(ids[0]!, 1_100_000);
    await waitFor("the held blobs reclaimed", () => blobFiles(dataDir).length === ids.length);
    expect(await server.stop()).toBe(0);

    const restored = await startServer({ dataDir: backup, env: { SSE_WORKERS: "1" } });
    open.push(restored);
    for (const id of [...ids, "load/small"]) {
      const r = await restored.fetch(`/data/${id}`);
      expect(r.status, id).toBe(200);
      expect(written.get(id)!.has(sha(Buffer.from(await r.arrayBuffer()))), id).toBe(true);
    }
    // Every object in the copy reads whole, and nothing is left that no object names.
    const { jobId } = (await (
      await restored.fetch("/admin/verify", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })
    ).json()) as {
      jobId: string;
    };
    let job: { state: string; result?: Record<string, unknown> } = { state: "running" };
    await waitFor("the verify job", async () => {
      job = (await (await restored.fetch(`/jobs/${jobId}`)).json()) as typeof job;
      return job.state !== "running";
    });
    expect(job).toMatchObject({ state: "done", result: { damagedCount: 0, orphanedBlobs: 0 } });
  }, 120_000);
});
