// Durability and storage at rest: restarts keep everything, kill -9 mid-upload loses nothing that
// was acknowledged and leaves no partial object, tampered ciphertext never turns into wrong
// plaintext, and no plaintext or token ever lands in SSE_DATA_DIR.
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { survivalProblems, uploadUntilKilled } from "../helpers/kill-workload.js";
import { listAll } from "../helpers/listing.js";
import { expectProblem } from "../helpers/problem.js";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { storedBlobBytes } from "../helpers/stored-bytes.js";
import { StoredSegments } from "../helpers/stored-segments.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";
import { getBytes, KiB, MiB, putObject, randomData, readBody, sha256 } from "../helpers/transfer.js";

const dirs: string[] = [];
const running: ServerProcess[] = [];

function newDataDir(): string {
  const d = tempDir("sse-e2e-durable-");
  dirs.push(d);
  return d;
}

async function start(
  dataDir: string,
  opts: { token?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const s = await startServer({ dataDir, ...opts });
  running.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(running.map((s) => killHard(s)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// --- the SQLite schema, discovered rather than assumed -------------------------------------------

interface Column {
  name: string;
}

interface StorageLayout {
  segTable: string;
  segData: string;
  segWrite: string;
  segIndex: string;
  objTable: string;
  objId: string;
  objWrite: string;
  objDek: string;
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Finds the segments table (big blobs keyed by a 16-byte write id and an index) and the objects table. */
function discoverLayout(db: Database.Database, knownId: string): StorageLayout {
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[]
  ).map((t) => t.name);
  const columns = (t: string) =>
    (db.prepare(`PRAGMA table_info(${q(t)})`).all() as Column[]).map((c) => c.name);
  const count = (sql: string, ...args: unknown[]) =>
    (db.prepare(sql).get(...args) as { n: number | null }).n ?? 0;
  const isWriteIdColumn = (t: string, c: string) =>
    count(`SELECT count(*) AS n FROM ${q(t)} WHERE typeof(${q(c)}) = 'blob' AND length(${q(c)}) = 16`) > 0 &&
    count(`SELECT count(*) AS n FROM ${q(t)} WHERE ${q(c)} IS NOT NULL AND length(${q(c)}) != 16`) === 0;

  let seg: Pick<StorageLayout, "segTable" | "segData" | "segWrite" | "segIndex"> | null = null;
  let obj: Pick<StorageLayout, "objTable" | "objId" | "objWrite" | "objDek"> | null = null;
  for (const t of tables) {
    const cols = columns(t);
    const data = cols.find(
      (c) => count(`SELECT max(length(${q(c)})) AS n FROM ${q(t)} WHERE typeof(${q(c)}) = 'blob'`) >= 65536,
    );
    if (data && !seg) {
      const write = cols.find((c) => c !== data && isWriteIdColumn(t, c));
      const ints = cols.filter(
        (c) =>
          c !== data &&
          c !== write &&
          count(`SELECT count(*) AS n FROM ${q(t)} WHERE typeof(${q(c)}) = 'integer'`) ===
            count(`SELECT count(*) AS n FROM ${q(t)}`),
      );
      const index = ints.find((c) => /idx|index|seq|segment|^n$|num|position|ord/i.test(c)) ?? ints[0];
      if (write && index) seg = { segTable: t, segData: data, segWrite: write, segIndex: index };
      continue;
    }
    const idCol = cols.find((c) => count(`SELECT count(*) AS n FROM ${q(t)} WHERE ${q(c)} = ?`, knownId) > 0);
    if (idCol && !obj) {
      const write = cols.find((c) => isWriteIdColumn(t, c));
      const dek = cols.find(
        (c) =>
          c !== write &&
          count(`SELECT count(*) AS n FROM ${q(t)} WHERE typeof(${q(c)}) = 'blob' AND length(${q(c)}) > 32`) >
            0,
      );
      if (write && dek) obj = { objTable: t, objId: idCol, objWrite: write, objDek: dek };
    }
  }
  if (!seg || !obj) throw new Error(`cannot find the segments/objects tables among: ${tables.join(", ")}`);
  return { ...seg, ...obj };
}

class Tamperer {
  readonly layout: StorageLayout;
  /** Segments of larger writes lie in blob files: tampered with there. */
  readonly files: StoredSegments;

  constructor(
    readonly db: Database.Database,
    knownId: string,
    dataDir: string,
  ) {
    this.layout = discoverLayout(db, knownId);
    this.files = new StoredSegments(dataDir);
  }

  close(): void {
    this.files.close();
  }

  writeIdOf(id: string): Buffer {
    const L = this.layout;
    const row = this.db
      .prepare(`SELECT ${q(L.objWrite)} AS w FROM ${q(L.objTable)} WHERE ${q(L.objId)} = ?`)
      .get(id) as { w: Buffer } | undefined;
    if (!row) throw new Error(`no row for ${id}`);
    return row.w;
  }

  segments(id: string): { index: number; data: Buffer }[] {
    const L = this.layout;
    const w = this.writeIdOf(id);
    if (this.files.inBlob(w)) return this.files.list(w).map((x) => ({ index: x.idx, data: x.data }));
    return this.db
      .prepare(
        `SELECT ${q(L.segIndex)} AS i, ${q(L.segData)} AS d FROM ${q(L.segTable)} WHERE ${q(L.segWrite)} = ? ORDER BY ${q(L.segIndex)}`,
      )
      .all(this.writeIdOf(id))
      .map((r) => ({ index: (r as { i: number }).i, data: (r as { d: Buffer }).d }));
  }

  setSegment(id: string, index: number, data: Buffer): void {
    const L = this.layout;
    const w = this.writeIdOf(id);
    if (this.files.inBlob(w)) {
      this.files.update(w, index, () => data);
      return;
    }
    const info = this.db
      .prepare(
        `UPDATE ${q(L.segTable)} SET ${q(L.segData)} = ? WHERE ${q(L.segWrite)} = ? AND ${q(L.segIndex)} = ?`,
      )
      .run(data, this.writeIdOf(id), index);
    if (info.changes !== 1) throw new Error(`segment ${index} of ${id} not updated`);
  }

  /** Flips one bit of segment `index` at `pos` (negative: from the end). */
  flip(id: string, index: number, pos: number): void {
    const seg = this.segments(id).find((s) => s.index === index);
    if (!seg) throw new Error(`no segment ${index} of ${id}`);
    const d = Buffer.from(seg.data);
    const at = pos < 0 ? d.length + pos : pos;
    d[at] = (d[at] ?? 0) ^ 0x01;
    this.setSegment(id, index, d);
  }

  deleteSegment(id: string, index: number): void {
    const L = this.layout;
    const w = this.writeIdOf(id);
    if (this.files.inBlob(w)) {
      this.files.replace(
        w,
        this.files.list(w).filter((x) => x.idx !== index),
      );
      return;
    }
    const info = this.db
      .prepare(`DELETE FROM ${q(L.segTable)} WHERE ${q(L.segWrite)} = ? AND ${q(L.segIndex)} = ?`)
      .run(this.writeIdOf(id), index);
    if (info.changes !== 1) throw new Error(`segment ${index} of ${id} not deleted`);
  }

  flipWrappedKey(id: string, pos: number): void {
    const L = this.layout;
    const row = this.db
      .prepare(`SELECT ${q(L.objDek)} AS k FROM ${q(L.objTable)} WHERE ${q(L.objId)} = ?`)
      .get(id) as {
      k: Buffer;
    };
    const k = Buffer.from(row.k);
    const at = pos < 0 ? k.length + pos : pos;
    k[at] = (k[at] ?? 0) ^ 0x80;
    this.db.prepare(`UPDATE ${q(L.objTable)} SET ${q(L.objDek)} = ? WHERE ${q(L.objId)} = ?`).run(k, id);
  }
}

/** A GET of tampered data: a 500 integrity_error, or a body cut short that is a prefix of the truth. */
async function expectNoWrongPlaintext(s: ServerProcess, id: string, truth: Buffer, range?: [number, number]) {
  const res = await s.fetch(
    `/data/${id}`,
    range ? { headers: { range: `bytes=${range[0]}-${range[1]}` } } : {},
  );
  if (res.status >= 500) {
    await expectProblem(res, 500, "integrity_error");
    return "500";
  }
  const want = range ? truth.subarray(range[0], range[1] + 1) : truth;
  expect(res.status).toBe(range ? 206 : 200);
  const { bytes, error } = await readBody(res);
  expect(bytes.length, `${id}: tampered data was served whole`).toBeLessThan(want.length);
  expect(error, `${id}: a short body must end in an aborted connection`).toBeTruthy();
  expect(bytes.equals(want.subarray(0, bytes.length)), `${id}: wrong plaintext served`).toBe(true);
  return "aborted";
}

describe("restart", () => {
  it("keeps items and objects, same bytes, ETags and metadata, and the same admin token", async () => {
    const dataDir = newDataDir();
    const s1 = await start(dataDir);
    const items: { id: number; data: string }[] = [];
    for (const data of ["one", "two", "ünïcödé ✓"]) {
      const res = await s1.fetch("/data", { method: "POST", body: JSON.stringify({ data }) });
      items.push((await res.json()) as { id: number; data: string });
    }
    const objects = new Map<
      string,
      { data: Buffer; etag: string; type: string; modified: string; created: string }
    >();
    for (const [id, size] of [
      ["r/empty", 0],
      ["r/one", 1],
      ["r/segment", 65536],
      ["r/multi", 1.5 * MiB + 3],
    ] as const) {
      const data = randomData(size);
      const type = `application/x-${size}`;
      const put = await putObject(s1, id, data, { "content-type": type });
      objects.set(id, {
        data,
        etag: put.body.etag,
        type,
        modified: put.body.modified,
        created: put.body.created,
      });
    }
    // A replaced and a deleted object, to be sure the latest state is what survives.
    await putObject(s1, "r/replaced", "old");
    const replaced = randomData(100_000);
    const rput = await putObject(s1, "r/replaced", replaced);
    objects.set("r/replaced", {
      data: replaced,
      etag: rput.body.etag,
      type: "application/octet-stream",
      modified: rput.body.modified,
      created: rput.body.created,
    });
    await putObject(s1, "r/deleted", "gone soon");
    expect((await s1.fetch("/data/r/deleted", { method: "DELETE" })).status).toBe(204);
    const listing = await listAll(s1);
    expect(await s1.stop()).toBe(0);

    const s2 = await start(dataDir);
    expect(await listAll(s2)).toEqual(listing);
    for (const it of items) expect(await (await s2.fetch(`/data/${it.id}`)).json()).toEqual(it);
    for (const [id, o] of objects) {
      const { res, bytes } = await getBytes(s2, id);
      expect(res.status, id).toBe(200);
      expect(sha256(bytes), id).toBe(sha256(o.data));
      expect(res.headers.get("etag"), id).toBe(o.etag);
      expect(res.headers.get("content-type"), id).toBe(o.type);
      expect(Date.parse(res.headers.get("last-modified")!)).toBe(
        Math.floor(Date.parse(o.modified) / 1000) * 1000,
      );
    }
    await expectProblem(await s2.fetch("/data/r/deleted"), 404, "not_found");
    // Writes go on where they stopped.
    const next = await s2.fetch("/data", { method: "POST", body: JSON.stringify({ data: "after restart" }) });
    expect(((await next.json()) as { id: number }).id).toBe(items[items.length - 1]!.id + 1);
    expect(await s2.stop()).toBe(0);

    // The bootstrap token only applies on the very first start: a different one now is not an admin.
    const s3 = await start(dataDir, { token: "sse_another_bootstrap_token_abcdefghijklmnopqrstuvwxyz0123" });
    expect((await s3.fetch("/data")).status).toBe(401);
    const withOld = await fetch(`${s3.url}/data`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(withOld.status).toBe(200);
    await withOld.arrayBuffer();
    expect(await s3.stop()).toBe(0);
  }, 120_000);
});

describe("kill -9", () => {
  it("keeps every acknowledged upload and no partial one while 8 clients upload", async () => {
    const dataDir = newDataDir();
    const s1 = await start(dataDir);
    const { versions, clientErrors } = await uploadUntilKilled(s1, {
      clients: 8,
      minAcked: 40,
      minBytes: 256 * KiB,
      spanBytes: 4 * MiB - 256 * KiB,
    });
    expect(clientErrors).toEqual([]);

    // The kill cut uploads short: otherwise this test would prove nothing.
    const inFlight = [...versions.values()].flat().filter((v) => !v.acked).length;
    expect(inFlight).toBeGreaterThanOrEqual(1);
    const s2 = await start(dataDir);
    const { problems, checked } = await survivalProblems(s2, versions);
    expect(problems).toEqual([]);
    // Every id with an acknowledged version was read back (and checked) above.
    const withAck = [...versions.values()].filter((list) => list.some((v) => v.acked)).length;
    expect(withAck).toBeGreaterThanOrEqual(8);
    expect(checked).toBeGreaterThanOrEqual(withAck);
    // Nothing listed that was never uploaded, and everything listed reads back.
    const listed = await listAll(s2);
    for (const id of listed) expect(versions.has(String(id)), String(id)).toBe(true);
    expect(await s2.stop()).toBe(0);

    // Interrupted uploads and replaced writes leave no ciphertext behind.
    const s3 = await start(dataDir);
    let live = 0;
    for (const id of await listAll(s3)) {
      const head = await s3.fetch(`/data/${id}`, { method: "HEAD" });
      live += Number(head.headers.get("content-length"));
    }
    expect(await s3.stop()).toBe(0);
    const stored = storedBlobBytes(path.join(dataDir, "objects.db"));
    // Per-segment overhead is a tag (and maybe a nonce); allow 1% plus small metadata.
    expect(stored).toBeLessThan(live * 1.01 + 256 * KiB);
  }, 240_000);
});

// Both suites, in both places a write's segments lie (rows of objects.db, and blob files).
describe.each(["aes256gcm", "xchacha20poly1305"])("tampered storage (%s)", (cipher) => {
  it("never serves wrong plaintext: 500 integrity_error or an aborted response", async () => {
    const dataDir = newDataDir();
    const env = { SSE_CIPHER: cipher };
    const s1 = await start(dataDir, { env });
    const SEG = 65536;
    const objs = new Map<string, Buffer>();
    const specs: [string, number][] = [
      ["t/first-byte", 10 * SEG - 100],
      ["t/first-tag", 4 * SEG + 10],
      ["t/middle", 10 * SEG - 7],
      ["t/late", 40 * SEG + 5],
      ["t/last-tag", 3 * SEG + 77],
      ["t/single", 5000],
      ["t/reorder", 6 * SEG],
      ["t/truncate", 5 * SEG + 1],
      ["t/truncate-late", 30 * SEG + 1],
      ["t/swap-a", 4 * SEG],
      ["t/swap-b", 4 * SEG],
      ["t/key", 2 * SEG],
      ["t/control", 5 * SEG + 3],
    ];
    for (const [id, size] of specs) {
      const data = randomData(size);
      objs.set(id, data);
      await putObject(s1, id, data);
    }
    expect(await s1.stop()).toBe(0);

    const db = new Database(path.join(dataDir, "objects.db"));
    let t: Tamperer | undefined;
    try {
      t = new Tamperer(db, "t/control", dataDir);
      // The larger writes went to blob files, the smaller stayed in objects.db: both are attacked.
      expect(t.files.inBlob(t.writeIdOf("t/late"))).toBe(true);
      expect(t.files.inBlob(t.writeIdOf("t/single"))).toBe(false);
      t.flip("t/first-byte", 0, 0);
      t.flip("t/first-tag", 0, -1);
      t.flip("t/middle", 5, 30_000);
      t.flip("t/late", 33, 1000);
      const lastIdx = t.segments("t/last-tag").at(-1)!.index;
      t.flip("t/last-tag", lastIdx, -1);
      t.flip("t/single", 0, 2500);
      const r = t.segments("t/reorder");
      t.setSegment("t/reorder", r[2]!.index, r[3]!.data);
      t.setSegment("t/reorder", r[3]!.index, r[2]!.data);
      t.deleteSegment("t/truncate", t.segments("t/truncate").at(-1)!.index);
      t.deleteSegment("t/truncate-late", t.segments("t/truncate-late").at(-1)!.index);
      const a = t.segments("t/swap-a");
      const b = t.segments("t/swap-b");
      t.setSegment("t/swap-a", a[1]!.index, b[1]!.data);
      t.setSegment("t/swap-b", b[1]!.index, a[1]!.data);
      t.flipWrappedKey("t/key", -5);
    } finally {
      t?.close();
      db.close();
    }

    const s2 = await start(dataDir, { env });
    const outcomes: Record<string, string> = {};
    for (const [id] of specs) {
      if (id === "t/control") continue;
      outcomes[id] = await expectNoWrongPlaintext(s2, id, objs.get(id)!);
    }
    // Found before any byte is sent: a clean 500.
    expect(outcomes["t/first-byte"]).toBe("500");
    expect(outcomes["t/first-tag"]).toBe("500");
    expect(outcomes["t/single"]).toBe("500");
    expect(outcomes["t/key"]).toBe("500");
    expect(outcomes["t/truncate"]).toBe("500");

    // A range that avoids the damage decrypts only its own segments and is served.
    const mid = objs.get("t/middle")!;
    const ok = await s2.fetch("/data/t/middle", { headers: { range: "bytes=100-131171" } });
    expect(ok.status).toBe(206);
    expect(Buffer.from(await ok.arrayBuffer()).equals(mid.subarray(100, 131172))).toBe(true);
    // A range that starts in the damaged segment fails cleanly.
    await expectNoWrongPlaintext(s2, "t/middle", mid, [5 * SEG + 10, 5 * SEG + 20]);
    // Untouched objects, including the other half of each tampered pair's neighbours, read fine.
    const { res, bytes } = await getBytes(s2, "t/control");
    expect(res.status).toBe(200);
    expect(bytes.equals(objs.get("t/control")!)).toBe(true);
    // The server is still healthy and logged the failures as integrity errors.
    expect((await fetch(`${s2.url}/health`)).status).toBe(200);
    expect(s2.output()).toMatch(/integrity/i);
    expect(await s2.stop()).toBe(0);
  }, 180_000);
});

describe("at rest", () => {
  it("keeps no plaintext and no token anywhere in SSE_DATA_DIR, WAL and SHM included", async () => {
    const dataDir = newDataDir();
    const s1 = await start(dataDir);
    const marker = `SSE-PLAINTEXT-MARKER-${randomData(8).toString("hex")}-`;
    const needle = Buffer.from(marker);
    await putObject(s1, "plain/big", marker.repeat(Math.ceil((300 * KiB) / marker.length)), {
      "content-type": "text/plain",
    });
    await putObject(s1, "plain/small", `${marker} once`);
    await s1.fetch("/data", { method: "POST", body: JSON.stringify({ data: `${marker} item` }) });
    await s1.fetch("/data", { method: "POST", body: JSON.stringify({ data: marker.repeat(2000) }) });
    // Replaced and deleted content must not linger either.
    await putObject(s1, "plain/replaced", marker.repeat(100));
    await putObject(s1, "plain/replaced", "nothing to see");
    await putObject(s1, "plain/deleted", marker.repeat(100));
    await s1.fetch("/data/plain/deleted", { method: "DELETE" });
    expect((await getBytes(s1, "plain/small")).bytes.toString()).toBe(`${marker} once`);

    const scan = () => {
      const files = filesUnder(dataDir);
      const hits: string[] = [];
      for (const f of files) {
        const content = readFileSync(f);
        if (content.includes(needle)) hits.push(`${path.basename(f)}: plaintext`);
        if (content.includes(Buffer.from(ADMIN_TOKEN))) hits.push(`${path.basename(f)}: token`);
        // The token's secret part alone (after its recognisable prefix) must not be there either.
        if (content.includes(Buffer.from(ADMIN_TOKEN.slice(4))))
          hits.push(`${path.basename(f)}: token secret`);
      }
      return { files: files.map((f) => `${path.basename(f)} (${statSync(f).size})`), hits };
    };

    // Killed: the WAL (and SHM) are still there and hold the latest pages.
    await killHard(s1);
    const killed = scan();
    expect(killed.files.some((f) => f.startsWith("objects.db-wal"))).toBe(true);
    expect(killed.hits, killed.files.join(", ")).toEqual([]);

    // Restarted and stopped cleanly: still nothing.
    const s2 = await start(dataDir);
    expect((await getBytes(s2, "plain/small")).bytes.toString()).toBe(`${marker} once`);
    expect(await s2.stop()).toBe(0);
    const stopped = scan();
    expect(stopped.hits, stopped.files.join(", ")).toEqual([]);
    // Nor in the server's log.
    expect(s1.output()).not.toContain(marker);
    expect(s2.output()).not.toContain(marker);
    expect(s1.output()).not.toContain(ADMIN_TOKEN);
  }, 120_000);
});
