// The two segment suites in one data directory (docs/FORMAT.md, "Suites"), on the real SQLite store
// through the real services: SSE_CIPHER picks the suite of new writes only; objects and multipart
// uploads of either suite read back under either setting, on this thread and on the AEAD thread;
// and tampering that mixes the suites (the stored suite changed, segments moved between writes of
// the two suites, truncation, a flipped bit) fails with integrity_error, never with wrong bytes.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices, type Services } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { SEGMENT_SIZE, SUITE_AES256GCM, SUITE_XCHACHA20_POLY1305 } from "../../src/crypto/segment-format.js";
import { NO_METRICS } from "../../src/domain-metrics.js";
import { AppError } from "../../src/errors.js";
import { createRootKeyProvider } from "../../src/keys/providers.js";
import type { RootKeyProvider } from "../../src/keys/root-key-provider.js";
import { ItemService } from "../../src/objects/item-service.js";
import { ObjectService } from "../../src/objects/object-service.js";
import type { ObjectMeta } from "../../src/store/records.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import type { Stores } from "../../src/store/stores.js";
import { tempDataDir } from "../helpers/app.js";

const MiB = 1024 * 1024;
/** Sizes around the segment boundaries; the last one is large enough for the AEAD thread (> 4 segments). */
const SIZES = [0, 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 6 * SEGMENT_SIZE + 17];
const PARTS = [5 * MiB + 3, 70_001];

let dataDir: string;
let stores: Stores;
let root: RootKeyProvider;
/** The same stores under each setting; the AES-256-GCM one also opens large reads on the AEAD thread. */
let chacha: Services;
let gcm: Services;
let owner: string;
let counter = 0;

function services(cipher: string, readThread: boolean): Services {
  const config = loadConfig({
    SSE_DATA_DIR: dataDir,
    SSE_LOG_LEVEL: "silent",
    SSE_CIPHER: cipher,
    SSE_READ_THREAD: String(readThread),
  });
  return buildServices(config, { stores, root, logger: pino({ level: "silent" }) });
}

beforeAll(async () => {
  dataDir = tempDataDir();
  const config = loadConfig({ SSE_DATA_DIR: dataDir, SSE_LOG_LEVEL: "silent" });
  stores = openSqliteStores(dataDir);
  root = createRootKeyProvider({ config, logger: pino({ level: "silent" }) });
  await root.open();
  chacha = services("xchacha20poly1305", false);
  gcm = services("aes-256-gcm", true);
  owner = (await chacha.auth.createUser("suites", "user")).uid;
}, 60_000);

afterAll(async () => {
  for (const s of [chacha, gcm]) {
    await s?.objects.settle();
    await s?.objects.close();
  }
  await stores?.close();
  await root?.close();
  if (dataDir) rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

interface Stored {
  id: string;
  plain: Buffer;
  meta: ObjectMeta;
}

async function put(s: Services, plain: Buffer): Promise<Stored> {
  const id = `suites/obj-${counter++}`;
  const { meta } = await s.objects.put({
    owner,
    id,
    body: [plain],
    contentType: "application/octet-stream",
    contentLength: plain.length,
    cond: {},
  });
  return { id, plain, meta };
}

/** A two-part upload created under `creator` and whose parts `uploader` stores (a restart between). */
async function multipart(creator: Services, uploader: Services = creator): Promise<Stored> {
  const id = `suites/mp-${counter++}`;
  const plains = PARTS.map((n) => randomBytes(n));
  const { uploadId } = await creator.multipart.create(owner, id, {
    contentType: "application/octet-stream",
    metadata: { contentType: "application/octet-stream" },
  });
  const etags: string[] = [];
  for (const [i, body] of plains.entries()) {
    const part = await uploader.multipart.uploadPart({
      owner,
      id,
      uploadId,
      number: i + 1,
      body: [body],
      contentLength: body.length,
    });
    etags.push(part.md5);
  }
  await uploader.multipart.complete({
    owner,
    id,
    uploadId,
    parts: etags.map((etag, i) => ({ number: i + 1, etag })),
    cond: {},
  });
  const meta = await uploader.objects.find(owner, id);
  if (!meta) throw new Error("the multipart object was not made");
  return { id, plain: Buffer.concat(plains), meta };
}

interface Outcome {
  bytes: Buffer;
  error: unknown;
}

async function read(s: Services, id: string, range: { start: number; end: number } | null): Promise<Outcome> {
  const chunks: Buffer[] = [];
  try {
    const meta = await s.objects.find(owner, id);
    if (!meta) throw new Error(`${id} is gone`);
    for await (const c of await s.objects.read(meta, range)) chunks.push(c as Buffer);
  } catch (err) {
    return { bytes: Buffer.concat(chunks), error: err };
  }
  return { bytes: Buffer.concat(chunks), error: null };
}

/** Ranges that touch the first segment, the last, and a span across a boundary. */
function rangesOf(size: number): { start: number; end: number }[] {
  if (size === 0) return [];
  const ranges = [
    { start: 0, end: 0 },
    { start: size - 1, end: size - 1 },
  ];
  if (size > SEGMENT_SIZE)
    ranges.push({ start: SEGMENT_SIZE - 5, end: Math.min(size - 1, SEGMENT_SIZE + 5) });
  return ranges;
}

async function expectIntact(s: Services, o: Stored): Promise<void> {
  const whole = await read(s, o.id, null);
  expect(whole.error, `${o.id}: ${String(whole.error)}`).toBeNull();
  expect(whole.bytes.equals(o.plain), `${o.id}: wrong bytes`).toBe(true);
  for (const r of rangesOf(o.plain.length)) {
    const got = await read(s, o.id, r);
    expect(got.error, `${o.id} ${r.start}-${r.end}`).toBeNull();
    expect(got.bytes.equals(o.plain.subarray(r.start, r.end + 1)), `${o.id} ${r.start}-${r.end}`).toBe(true);
  }
}

/** Every read of the whole object fails with integrity_error, after nothing but the object's own bytes. */
async function expectFails(s: Services, o: Stored, ranges = rangesOf(o.plain.length)): Promise<void> {
  for (const r of [null, ...ranges]) {
    const what = r ? `${o.id} ${r.start}-${r.end}` : `${o.id} whole`;
    const got = await read(s, o.id, r);
    expect(got.error, `${what} read through the damage`).toBeInstanceOf(AppError);
    expect((got.error as AppError).code, what).toBe("integrity_error");
    const want = r ? o.plain.subarray(r.start, r.end + 1) : o.plain;
    expect(
      got.bytes.equals(want.subarray(0, got.bytes.length)),
      `${what}: wrong bytes before the error`,
    ).toBe(true);
  }
}

function withDb<T>(f: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, "objects.db"));
  try {
    db.pragma("busy_timeout = 5000");
    return f(db);
  } finally {
    db.close();
  }
}

const storedSuite = (o: Stored) =>
  withDb((db) => db.prepare("SELECT suite FROM objects WHERE write_id = ?").pluck().get(o.meta.writeId));

describe("SSE_CIPHER picks the suite of new writes; every object reads under either setting", () => {
  it("each setting seals with its suite, and records it in the object's row", async () => {
    const a = await put(chacha, randomBytes(100));
    const b = await put(gcm, randomBytes(100));
    expect(a.meta.suite).toBe(SUITE_XCHACHA20_POLY1305);
    expect(b.meta.suite).toBe(SUITE_AES256GCM);
    expect(storedSuite(a)).toBe(1);
    expect(storedSuite(b)).toBe(2);
  });

  it("objects of both suites, at every size, read back whole and in ranges under both settings", async () => {
    const objects: Stored[] = [];
    for (const size of SIZES) {
      objects.push(await put(chacha, randomBytes(size)));
      objects.push(await put(gcm, randomBytes(size)));
    }
    for (const o of objects) {
      // gcm opens large reads on the AEAD thread, chacha on this one: both suites both ways.
      await expectIntact(chacha, o);
      await expectIntact(gcm, o);
    }
  });

  it("auto where the CPU has AES: a write declared to fit in one segment takes XChaCha20-Poly1305, any other AES-256-GCM", async () => {
    // What chooseCipher("auto") gives on such a CPU (test/unit/cipher-choice.test.ts), on any machine.
    const auto = new ObjectService(stores.objects, gcm.keys, {
      maxObjectBytes: 1 << 30,
      suite: SUITE_AES256GCM,
      smallSuite: SUITE_XCHACHA20_POLY1305,
      metrics: NO_METRICS,
    });
    const write = async (size: number, declared: boolean) => {
      const plain = randomBytes(size);
      const { meta } = await auto.put({
        owner,
        id: `suites/auto-${counter++}`,
        body: [plain],
        contentType: "application/octet-stream",
        ...(declared ? { contentLength: size } : {}),
        cond: {},
      });
      expect((await auto.readSmall(meta)).equals(plain)).toBe(true);
      return meta.suite;
    };
    expect(await write(0, true)).toBe(SUITE_XCHACHA20_POLY1305);
    expect(await write(1024, true)).toBe(SUITE_XCHACHA20_POLY1305);
    expect(await write(SEGMENT_SIZE, true)).toBe(SUITE_XCHACHA20_POLY1305);
    expect(await write(SEGMENT_SIZE + 1, true)).toBe(SUITE_AES256GCM);
    // Length unknown up front (a chunked upload): the suite of large writes.
    expect(await write(1024, false)).toBe(SUITE_AES256GCM);
    // An item declares its length: a small one takes the small suite, a large one the other.
    for (const [data, suite] of [
      ["x".repeat(1000), SUITE_XCHACHA20_POLY1305],
      ["y".repeat(SEGMENT_SIZE + 1), SUITE_AES256GCM],
    ] as const) {
      const item = await new ItemService(auto).create(owner, undefined, data);
      expect((await auto.find(owner, String(item.id)))?.suite).toBe(suite);
    }
    await auto.settle();
  });

  it("small reads (readSmall) open both suites", async () => {
    for (const s of [chacha, gcm]) {
      const o = await put(s, randomBytes(SEGMENT_SIZE + 9));
      for (const reader of [chacha, gcm])
        expect((await reader.objects.readSmall(o.meta)).equals(o.plain)).toBe(true);
    }
  });

  it("a multipart upload keeps the suite it was created with, whoever stores its parts", async () => {
    const a = await multipart(chacha, gcm);
    const b = await multipart(gcm, chacha);
    expect(a.meta.suite).toBe(SUITE_XCHACHA20_POLY1305);
    expect(b.meta.suite).toBe(SUITE_AES256GCM);
    const partSuites = (o: Stored) =>
      withDb((db) =>
        db
          .prepare(
            "SELECT DISTINCT u.suite FROM multipart_uploads u WHERE u.write_id = ? UNION SELECT suite FROM objects WHERE write_id = ?",
          )
          .pluck()
          .all(o.meta.writeId, o.meta.writeId),
      );
    expect(partSuites(a)).toEqual([1]);
    expect(partSuites(b)).toEqual([2]);
    for (const o of [a, b]) {
      await expectIntact(chacha, o);
      await expectIntact(gcm, o);
      const boundary = { start: PARTS[0]! - 3, end: PARTS[0]! + 3 };
      const got = await read(gcm, o.id, boundary);
      expect(got.bytes.equals(o.plain.subarray(boundary.start, boundary.end + 1))).toBe(true);
    }
  });
});

describe("tampering across the suites fails closed", () => {
  const setSuite = (o: Stored, suite: number) =>
    withDb((db) => db.prepare("UPDATE objects SET suite = ? WHERE write_id = ?").run(suite, o.meta.writeId));

  it.each([
    [1, 2],
    [2, 1],
    [1, 3],
    [2, 0],
    [2, 255],
  ])("the row's suite changed from %i to %i: every read fails", async (from, to) => {
    const o = await put(from === 1 ? chacha : gcm, randomBytes(3 * SEGMENT_SIZE + 5));
    setSuite(o, to);
    await expectFails(chacha, o);
    await expectFails(gcm, o);
  });

  it("a multipart object's suite changed: every read fails", async () => {
    for (const [writer, to] of [
      [chacha, 2],
      [gcm, 1],
    ] as const) {
      const o = await multipart(writer);
      setSuite(o, to);
      await expectFails(chacha, o, [
        { start: 0, end: 10 },
        { start: PARTS[0]!, end: PARTS[0]! + 10 },
      ]);
    }
  });

  it("segments swapped between a write of each suite (same size): both fail, with or without the suites swapped too", async () => {
    for (const swapSuites of [false, true]) {
      const size = 2 * SEGMENT_SIZE + 100;
      const x = await put(chacha, randomBytes(size));
      const g = await put(gcm, randomBytes(size));
      withDb((db) => {
        const tmp = Buffer.alloc(16, 0xee);
        const move = db.prepare("UPDATE segments SET write_id = ? WHERE write_id = ?");
        db.transaction(() => {
          move.run(tmp, x.meta.writeId);
          move.run(x.meta.writeId, g.meta.writeId);
          move.run(g.meta.writeId, tmp);
        })();
      });
      if (swapSuites) {
        setSuite(x, 2);
        setSuite(g, 1);
      }
      await expectFails(chacha, x);
      await expectFails(gcm, g);
    }
  });

  it("one segment of a suite-2 write put in place of a suite-1 write's, and back", async () => {
    const x = await put(chacha, randomBytes(SEGMENT_SIZE * 2));
    const g = await put(gcm, randomBytes(SEGMENT_SIZE * 2));
    withDb((db) => {
      const get = db.prepare("SELECT data FROM segments WHERE write_id = ? AND idx = 0").pluck();
      const set = db.prepare("UPDATE segments SET data = ? WHERE write_id = ? AND idx = 0");
      const gx = get.get(g.meta.writeId) as Buffer;
      const xx = get.get(x.meta.writeId) as Buffer;
      set.run(gx, x.meta.writeId);
      set.run(xx, g.meta.writeId);
    });
    const head = [{ start: 0, end: 10 }];
    await expectFails(gcm, x, head);
    await expectFails(chacha, g, head);
    // Segment 1 of each was not touched: a range inside it still reads.
    const tail = { start: SEGMENT_SIZE + 10, end: SEGMENT_SIZE + 20 };
    for (const o of [x, g])
      expect(
        (await read(gcm, o.id, tail)).bytes.equals(o.plain.subarray(10 + SEGMENT_SIZE, 21 + SEGMENT_SIZE)),
      ).toBe(true);
  });

  it("a suite-2 object truncated: its last segment dropped, with or without its size cut to match", async () => {
    for (const cutSize of [false, true]) {
      const o = await put(gcm, randomBytes(3 * SEGMENT_SIZE + 7));
      withDb((db) => {
        db.prepare("DELETE FROM segments WHERE write_id = ? AND idx = 3").run(o.meta.writeId);
        if (cutSize)
          db.prepare("UPDATE objects SET size = ? WHERE write_id = ?").run(3 * SEGMENT_SIZE, o.meta.writeId);
      });
      // With the size cut, segment 2 is opened as the last one: sealed as non-last, it fails.
      const ranges = cutSize
        ? [{ start: 2 * SEGMENT_SIZE, end: 3 * SEGMENT_SIZE - 1 }]
        : [{ start: o.plain.length - 1, end: o.plain.length - 1 }];
      await expectFails(gcm, o, ranges);
      await expectFails(chacha, o, ranges);
    }
  });

  it("a suite-2 object extended: a segment appended and its size grown", async () => {
    const o = await put(gcm, randomBytes(2 * SEGMENT_SIZE));
    withDb((db) => {
      const last = db
        .prepare("SELECT data FROM segments WHERE write_id = ? AND idx = 1")
        .pluck()
        .get(o.meta.writeId);
      db.prepare("INSERT INTO segments (write_id, idx, data) VALUES (?, 2, ?)").run(o.meta.writeId, last);
      db.prepare("UPDATE objects SET size = ? WHERE write_id = ?").run(3 * SEGMENT_SIZE, o.meta.writeId);
    });
    await expectFails(gcm, o, [{ start: SEGMENT_SIZE, end: SEGMENT_SIZE + 1 }]);
  });

  it("a bit flipped in a suite-2 segment: reads that touch it fail, on both threads", async () => {
    const o = await put(gcm, randomBytes(8 * SEGMENT_SIZE));
    withDb((db) => {
      const data = Buffer.from(
        db
          .prepare("SELECT data FROM segments WHERE write_id = ? AND idx = 6")
          .pluck()
          .get(o.meta.writeId) as Buffer,
      );
      data[100]! ^= 0x01;
      db.prepare("UPDATE segments SET data = ? WHERE write_id = ? AND idx = 6").run(data, o.meta.writeId);
    });
    const hit = [{ start: 6 * SEGMENT_SIZE + 5, end: 6 * SEGMENT_SIZE + 5 }];
    await expectFails(gcm, o, hit);
    await expectFails(chacha, o, hit);
    const before = await read(gcm, o.id, { start: 0, end: 6 * SEGMENT_SIZE - 1 });
    expect(before.error).toBeNull();
    expect(before.bytes.equals(o.plain.subarray(0, 6 * SEGMENT_SIZE))).toBe(true);
  });
});
