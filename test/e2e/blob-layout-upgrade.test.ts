// A data directory written before the blob layout (every segment in objects.db), opened by today's
// server: everything reads unchanged, new large writes go to blob files, and an old object written
// again moves there and leaves nothing behind in objects.db.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  FIXTURE_OBJECTS,
  FIXTURE_PASSPHRASE,
  FIXTURE_TOKEN,
  fixtureBody,
} from "../fixtures/data-dir-v1/contents.js";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { blobFiles } from "../helpers/stored-bytes.js";
import { waitFor } from "../helpers/wait-for.js";

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function inlineSegments(dataDir: string): number {
  const db = new Database(path.join(dataDir, "objects.db"), { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM segments").pluck().get() as number;
  } finally {
    db.close();
  }
}

describe("a data directory from before the blob layout", () => {
  it("opens and reads unchanged; what is written again moves to blob files", async () => {
    const dataDir = tempDir("sse-v1-");
    dirs.push(dataDir);
    execFileSync("tar", [
      "xzf",
      path.join(ROOT, "test/fixtures/data-dir-v1/data-dir-v1.tar.gz"),
      "-C",
      dataDir,
    ]);
    const sums = JSON.parse(readFileSync(path.join(dataDir, "fixture-sums.json"), "utf8")) as Record<
      string,
      string
    >;
    const before = inlineSegments(dataDir);
    expect(before).toBeGreaterThan(16);

    const s = await startServer({
      dataDir,
      token: FIXTURE_TOKEN,
      env: { SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE: FIXTURE_PASSPHRASE, SSE_WORKERS: "1" },
    });
    servers.push(s);
    // Every old object reads whole, ranges included; the item too.
    for (const o of FIXTURE_OBJECTS) {
      const r = await s.fetch(`/data/${o.id}`);
      expect(r.status, o.id).toBe(200);
      const got = Buffer.from(await r.arrayBuffer());
      expect(sha(got), o.id).toBe(sums[o.id]);
      expect(got.equals(fixtureBody(o.id, o.size))).toBe(true);
      if (o.size > 70_000) {
        const part = await s.fetch(`/data/${o.id}`, { headers: { range: "bytes=65530-65545" } });
        expect(part.status).toBe(206);
        expect(Buffer.from(await part.arrayBuffer())).toEqual(
          fixtureBody(o.id, o.size).subarray(65530, 65546),
        );
      }
    }
    expect(await (await s.fetch("/data/1")).json()).toEqual({
      id: 1,
      data: "an item from before the blob layout",
    });
    // Nothing moved on opening: the old rows stay where they are, no blob file appeared.
    expect(blobFiles(dataDir)).toEqual([]);
    expect(inlineSegments(dataDir)).toBe(before);

    // A new large object goes to a blob file; the old large one, written again, moves there and its
    // rows are reclaimed.
    const big = FIXTURE_OBJECTS.find((o) => o.id === "folder/past-a-batch.bin")!;
    const fresh = Buffer.alloc(3 * 1024 * 1024, 7);
    expect(
      (await s.fetch("/data/new-large.bin", { method: "PUT", body: new Uint8Array(fresh) })).status,
    ).toBe(201);
    const again = fixtureBody("again", big.size);
    expect((await s.fetch(`/data/${big.id}`, { method: "PUT", body: new Uint8Array(again) })).status).toBe(
      200,
    );
    await waitFor("the old object's rows reclaimed", () => inlineSegments(dataDir) === before - 17);
    expect(blobFiles(dataDir)).toHaveLength(2);
    expect(Buffer.from(await (await s.fetch(`/data/${big.id}`)).arrayBuffer()).equals(again)).toBe(true);
    expect(Buffer.from(await (await s.fetch("/data/new-large.bin")).arrayBuffer()).equals(fresh)).toBe(true);

    // A full verify reads old and new alike and finds nothing wrong.
    const start = await s.fetch("/admin/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const { jobId } = (await start.json()) as { jobId: string };
    let job: { state: string; done?: number; result?: Record<string, unknown> } = { state: "running" };
    await waitFor("the verify job", async () => {
      job = (await (await s.fetch(`/jobs/${jobId}`)).json()) as typeof job;
      return job.state !== "running";
    });
    expect(job).toMatchObject({
      state: "done",
      done: FIXTURE_OBJECTS.length + 2,
      result: { damagedCount: 0, orphanedBlobs: 0 },
    });
  }, 90_000);
});
