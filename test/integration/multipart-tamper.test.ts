// Tampering with a stored multipart object (docs/FORMAT.md, "Multipart objects"), on the real SQLite
// store through the real services: parts swapped, dropped, repeated, reordered, truncated or
// altered, manifests swapped or altered, the row's clear columns changed. Every read (whole, ranged,
// by part number) either fails with integrity_error or gives exactly the stored bytes: wrong
// plaintext never comes out, and a read that touches the damage always fails.
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../src/app.js";
import { SEGMENT_SIZE } from "../../src/crypto/segment-format.js";
import { AppError } from "../../src/errors.js";
import type { ObjectMeta } from "../../src/store/records.js";
import { openServices, type TestServices } from "../helpers/app.js";
import { type StoredSegments, withSegments } from "../helpers/stored-segments.js";

const MiB = 1024 * 1024;
/** Three parts, uploaded out of order; none ends on a segment boundary. */
const PART_SIZES = [5 * MiB + 100, 5 * MiB + SEGMENT_SIZE - 3, 300_001];
const OFFSETS = PART_SIZES.map((_, i) => PART_SIZES.slice(0, i).reduce((a, b) => a + b, 0));
const SIZE = PART_SIZES.reduce((a, b) => a + b, 0);

let dataDir: string;
let opened: TestServices;
let services: Services;
let owner: string;

interface Built {
  id: string;
  meta: ObjectMeta;
  plain: Buffer;
  /** Part write ids, by part number - 1. */
  parts: Buffer[];
}

let counter = 0;

/** A fresh 3-part object: never read before it is tampered with, so nothing of it is cached. */
async function multipartObject(): Promise<Built> {
  const id = `tamper/obj-${counter++}`;
  const partsPlain = PART_SIZES.map((n) => randomBytes(n));
  const { uploadId } = await services.multipart.create(owner, id, {
    contentType: "application/octet-stream",
    metadata: { contentType: "application/octet-stream", user: { owner: "tamper-test" } },
  });
  const etags: string[] = [];
  for (const n of [2, 3, 1]) {
    const part = await services.multipart.uploadPart({
      owner,
      id,
      uploadId,
      number: n,
      body: [partsPlain[n - 1]!],
      contentLength: PART_SIZES[n - 1]!,
    });
    etags[n - 1] = part.md5;
  }
  await services.multipart.complete({
    owner,
    id,
    uploadId,
    parts: etags.map((etag, i) => ({ number: i + 1, etag })),
    cond: {},
  });
  const meta = await services.objects.find(owner, id);
  if (!meta) throw new Error("the object was not made");
  const parts = withDb((db) =>
    (
      db
        .prepare("SELECT part_write_id FROM object_parts WHERE write_id = ? ORDER BY number")
        .all(meta.writeId) as { part_write_id: Buffer }[]
    ).map((r) => r.part_write_id),
  );
  expect(parts).toHaveLength(3);
  // Parts are written once, to blob files: the attacks below go at those.
  segments((s) => expect(parts.map((w) => s.inBlob(w))).toEqual([true, true, true]));
  return { id, meta, plain: Buffer.concat(partsPlain), parts };
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

/** Tampers with the parts' segments where they lie (blob files, or rows for small writes). */
function segments<T>(f: (s: StoredSegments) => T): T {
  return withSegments(dataDir, f);
}

/** The segments of `writeId` without those at `drop`. */
function without(s: StoredSegments, writeId: Buffer, ...drop: number[]): void {
  s.replace(
    writeId,
    s.list(writeId).filter((x) => !drop.includes(x.idx)),
  );
}

function flipLastByte(
  db: Database.Database,
  table: string,
  column: string,
  where: string,
  arg: Buffer,
): void {
  const row = db.prepare(`SELECT rowid AS r, ${column} AS v FROM ${table} WHERE ${where}`).get(arg) as {
    r: number;
    v: Buffer;
  };
  const v = Buffer.from(row.v);
  v[Math.floor(v.length / 2)]! ^= 0x20;
  db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`).run(v, row.r);
}

/** Plaintext bytes [start, end] of segment `idx` of part `n` (1-based). */
function segmentSpan(n: number, idx: number): [number, number] {
  const start = OFFSETS[n - 1]! + idx * SEGMENT_SIZE;
  return [start, Math.min(start + SEGMENT_SIZE, OFFSETS[n - 1]! + PART_SIZES[n - 1]!) - 1];
}

function partSpan(n: number): [number, number] {
  return [OFFSETS[n - 1]!, OFFSETS[n - 1]! + PART_SIZES[n - 1]! - 1];
}

const lastIdx = (n: number) => Math.ceil(PART_SIZES[n - 1]! / SEGMENT_SIZE) - 1;

/** Ranges read in every case: each part, every boundary, the edges. */
const RANGES: [number, number][] = [
  [0, 0],
  [0, 99],
  [MiB, MiB + 1000],
  [OFFSETS[1]! - 10, OFFSETS[1]! + 10],
  [OFFSETS[1]! + 5 * SEGMENT_SIZE + 17, OFFSETS[1]! + 7 * SEGMENT_SIZE],
  [OFFSETS[2]! - 1, OFFSETS[2]!],
  [OFFSETS[2]! + 1000, OFFSETS[2]! + 2000],
  [SIZE - 1000, SIZE - 1],
  [SIZE - 1, SIZE - 1],
  [5, SIZE - 5],
  ...[1, 2, 3].map((n) => segmentSpan(n, lastIdx(n))),
  ...[1, 2, 3].map((n) => segmentSpan(n, lastIdx(n) - 1)),
];

interface ReadOutcome {
  bytes: Buffer;
  error: unknown;
}

async function readRange(
  meta: ObjectMeta,
  range: { start: number; end: number } | null,
): Promise<ReadOutcome> {
  const parts: Buffer[] = [];
  try {
    const stream = await services.objects.read(meta, range);
    for await (const chunk of stream) parts.push(chunk as Buffer);
  } catch (err) {
    return { bytes: Buffer.concat(parts), error: err };
  }
  return { bytes: Buffer.concat(parts), error: null };
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] <= b[1] && b[0] <= a[1];

/**
 * Reads `meta` whole, in every range and by part number. Each read gives exactly the right bytes or
 * fails with integrity_error after a correct prefix; one that touches `damaged` must fail.
 */
async function expectReads(b: Built, damaged: [number, number][] | "all"): Promise<void> {
  const meta = (await services.objects.find(owner, b.id)) ?? b.meta;
  const reads: { what: string; range: [number, number] }[] = [
    { what: "whole", range: [0, SIZE - 1] },
    ...RANGES.map((r) => ({ what: `bytes ${r[0]}-${r[1]}`, range: r })),
  ];
  for (const n of [1, 2, 3]) {
    let span: [number, number] | null = null;
    try {
      const r = await services.objects.partRange(meta, n);
      if (r) span = [r.start, r.end];
    } catch (err) {
      expectIntegrity(err, `part ${n}'s range`);
      expect(damaged, `part ${n}'s range failed on an undamaged object`).toBe("all");
      continue;
    }
    // Where the row itself lies, part ranges may too: what matters is what reading them gives.
    if (damaged !== "all") expect(span, `part ${n}`).toEqual(partSpan(n));
    if (span && span[1] >= span[0]) reads.push({ what: `part ${n}`, range: span });
  }
  let failures = 0;
  for (const { what, range } of reads) {
    const whole = what === "whole";
    const out = await readRange(meta, whole ? null : { start: range[0], end: range[1] });
    const want = b.plain.subarray(range[0], range[1] + 1);
    const hit = damaged === "all" || damaged.some((d) => overlaps(d, range));
    if (out.error === null) {
      expect(hit, `${what} read through the damage`).toBe(false);
      expect(out.bytes.equals(want), `${what}: wrong bytes`).toBe(true);
    } else {
      expectIntegrity(out.error, what);
      // What came out before the failure was the object's own bytes.
      expect(
        out.bytes.equals(want.subarray(0, out.bytes.length)),
        `${what}: wrong bytes before the error`,
      ).toBe(true);
      failures++;
    }
  }
  if (damaged === "all" || damaged.length > 0) expect(failures).toBeGreaterThan(0);
}

function expectIntegrity(err: unknown, what: string): void {
  expect(err, `${what}: ${String(err)}`).toBeInstanceOf(AppError);
  expect((err as AppError).code, `${what}: ${String(err)}`).toBe("integrity_error");
}

beforeAll(async () => {
  opened = await openServices();
  ({ dataDir, services } = opened);
  owner = (await services.auth.createUser("mallory-target", "user")).uid;
}, 60_000);

afterAll(async () => {
  await opened?.close();
});

describe("a multipart object tampered with in the database", () => {
  it("reads back whole, in ranges and by part when untouched", async () => {
    const b = await multipartObject();
    expect(b.meta.size).toBe(SIZE);
    await expectReads(b, []);
    const md = await services.objects.metadataOf(b.meta);
    expect(md?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(md?.etag).toBe(
      `${createHash("md5")
        .update(
          Buffer.concat(
            PART_SIZES.map((_, i) =>
              createHash("md5")
                .update(b.plain.subarray(OFFSETS[i]!, OFFSETS[i]! + PART_SIZES[i]!))
                .digest(),
            ),
          ),
        )
        .digest("hex")}-3`,
    );
  });

  it("part 2's segments under part 1's write id (part 1's own gone)", async () => {
    const b = await multipartObject();
    segments((s) => {
      s.remove(b.parts[0]!);
      s.move(b.parts[1]!, b.parts[0]!);
    });
    await expectReads(b, [partSpan(1), partSpan(2)]);
  });

  it("two parts' segments swapped", async () => {
    const b = await multipartObject();
    segments((s) => {
      const tmp = randomBytes(16);
      s.move(b.parts[0]!, tmp);
      s.move(b.parts[1]!, b.parts[0]!);
      s.move(tmp, b.parts[1]!);
    });
    await expectReads(b, [partSpan(1), partSpan(2)]);
  });

  it("the last part's segments swapped with the first's", async () => {
    const b = await multipartObject();
    segments((s) => {
      const tmp = randomBytes(16);
      s.move(b.parts[0]!, tmp);
      s.move(b.parts[2]!, b.parts[0]!);
      s.move(tmp, b.parts[2]!);
    });
    await expectReads(b, [partSpan(1), partSpan(3)]);
  });

  it("a part's segments dropped", async () => {
    const b = await multipartObject();
    segments((s) => s.remove(b.parts[1]!));
    await expectReads(b, [partSpan(2)]);
  });

  it("a part repeated: part 1's segments copied over part 2's", async () => {
    const b = await multipartObject();
    segments((s) => s.copy(b.parts[0]!, b.parts[1]!));
    await expectReads(b, [partSpan(2)]);
  });

  it("another object's part put in place of a part", async () => {
    const other = await multipartObject();
    const b = await multipartObject();
    segments((s) => s.copy(other.parts[1]!, b.parts[1]!));
    await expectReads(b, [partSpan(2)]);
  });

  it("two segments of a part reordered", async () => {
    const b = await multipartObject();
    segments((s) => {
      const list = s.list(b.parts[0]!);
      [list[3], list[4]] = [list[4]!, list[3]!];
      s.replace(
        b.parts[0]!,
        list.map((x, i) => ({ idx: i, data: x!.data })),
      );
    });
    await expectReads(b, [segmentSpan(1, 3), segmentSpan(1, 4)]);
  });

  it("a part's last segment dropped", async () => {
    const b = await multipartObject();
    segments((s) => without(s, b.parts[0]!, lastIdx(1)));
    await expectReads(b, [segmentSpan(1, lastIdx(1))]);
  });

  it("the last part's last segment cut short", async () => {
    const b = await multipartObject();
    segments((s) => s.update(b.parts[2]!, lastIdx(3), (d) => d.subarray(0, d.length - 40)));
    await expectReads(b, [segmentSpan(3, lastIdx(3))]);
  });

  it("a part's last segment dropped and the one before made to look last", async () => {
    const b = await multipartObject();
    // Both the drop and a shorter part: the reader sizes parts by the manifest, never by segments.
    segments((s) => without(s, b.parts[1]!, lastIdx(2), lastIdx(2) - 1));
    await expectReads(b, [segmentSpan(2, lastIdx(2) - 1), segmentSpan(2, lastIdx(2))]);
  });

  it("an extra segment appended to a part (the manifest sizes the part: never read)", async () => {
    const b = await multipartObject();
    segments((s) => {
      const extra = s.list(b.parts[1]!)[0]!;
      s.replace(b.parts[0]!, [...s.list(b.parts[0]!), { idx: lastIdx(1) + 1, data: extra.data }]);
    });
    await expectReads(b, []);
  });

  it("a byte flipped in a part's segment", async () => {
    const b = await multipartObject();
    segments((s) =>
      s.update(b.parts[1]!, 6, (d) => {
        d[100]! ^= 0x01;
        return d;
      }),
    );
    await expectReads(b, [segmentSpan(2, 6)]);
  });

  it("part write ids swapped in object_parts (the reader goes by the sealed manifest)", async () => {
    const b = await multipartObject();
    withDb((db) => {
      const set = db.prepare("UPDATE object_parts SET part_write_id = ? WHERE write_id = ? AND number = ?");
      set.run(randomBytes(16), b.meta.writeId, 1);
      set.run(b.parts[0], b.meta.writeId, 2);
      set.run(b.parts[1], b.meta.writeId, 1);
    });
    await expectReads(b, []);
  });

  it("the manifest replaced with another object's", async () => {
    const other = await multipartObject();
    const b = await multipartObject();
    withDb((db) => {
      const sealed = db
        .prepare("SELECT sealed FROM manifests WHERE write_id = ?")
        .pluck()
        .get(other.meta.writeId);
      db.prepare("UPDATE manifests SET sealed = ? WHERE write_id = ?").run(sealed, b.meta.writeId);
    });
    await expectReads(b, "all");
  });

  it("two objects' manifests and object_parts swapped together", async () => {
    const a = await multipartObject();
    const b = await multipartObject();
    withDb((db) => {
      const tmp = randomBytes(16);
      for (const t of ["manifests", "object_parts"]) {
        const set = db.prepare(`UPDATE ${t} SET write_id = ? WHERE write_id = ?`);
        set.run(tmp, a.meta.writeId);
        set.run(a.meta.writeId, b.meta.writeId);
        set.run(b.meta.writeId, tmp);
      }
    });
    await expectReads(a, "all");
    await expectReads(b, "all");
  });

  it("a byte flipped in the manifest", async () => {
    const b = await multipartObject();
    withDb((db) => flipLastByte(db, "manifests", "sealed", "write_id = ?", b.meta.writeId));
    await expectReads(b, "all");
  });

  it("the manifest gone", async () => {
    const b = await multipartObject();
    withDb((db) => db.prepare("DELETE FROM manifests WHERE write_id = ?").run(b.meta.writeId));
    await expectReads(b, "all");
  });

  it("a byte flipped in the sealed metadata: its record fails, the contents still authenticate", async () => {
    const b = await multipartObject();
    withDb((db) => flipLastByte(db, "objects", "sealed_meta", "write_id = ?", b.meta.writeId));
    const meta = (await services.objects.find(owner, b.id))!;
    await expect(services.objects.metadataOf(meta)).rejects.toMatchObject({ code: "integrity_error" });
    await expectReads(b, []);
  });

  it("another object's sealed metadata put in place", async () => {
    const other = await multipartObject();
    const b = await multipartObject();
    withDb((db) => {
      const sealed = db
        .prepare("SELECT sealed_meta FROM objects WHERE write_id = ?")
        .pluck()
        .get(other.meta.writeId);
      db.prepare("UPDATE objects SET sealed_meta = ? WHERE write_id = ?").run(sealed, b.meta.writeId);
    });
    const meta = (await services.objects.find(owner, b.id))!;
    await expect(services.objects.metadataOf(meta)).rejects.toMatchObject({ code: "integrity_error" });
  });

  for (const [what, column, value] of [
    ["its size", "size", SIZE - 1],
    ["its size, larger", "size", SIZE + SEGMENT_SIZE],
    ["its segment size", "segment_size", SEGMENT_SIZE / 2],
    ["its format version (1: a single write)", "format_version", 1],
  ] as const) {
    it(`the object row's clear column changed: ${what}`, async () => {
      const b = await multipartObject();
      withDb((db) =>
        db.prepare(`UPDATE objects SET ${column} = ? WHERE write_id = ?`).run(value, b.meta.writeId),
      );
      await expectReads(b, "all");
    });
  }
});

describe("an upload in progress tampered with before it completes", () => {
  it("two parts renumbered: ListParts and Complete fail, whichever ETags the client names", async () => {
    const id = `tamper/in-progress-${counter++}`;
    const plain = PART_SIZES.map((n) => randomBytes(n));
    const { uploadId } = await services.multipart.create(owner, id, {
      contentType: "application/octet-stream",
      metadata: { contentType: "application/octet-stream" },
    });
    const etags: string[] = [];
    for (const n of [1, 2, 3])
      etags.push(
        (await services.multipart.uploadPart({ owner, id, uploadId, number: n, body: [plain[n - 1]!] })).md5,
      );
    withDb((db) => {
      const renumber = db.prepare("UPDATE multipart_parts SET number = ? WHERE upload_id = ? AND number = ?");
      renumber.run(-1, uploadId, 1);
      renumber.run(1, uploadId, 2);
      renumber.run(2, uploadId, -1);
    });
    // A part record names its part: a row moved to another number no longer matches it. Otherwise
    // ListParts would show part 2 as part 1, and a Complete with those ETags (some clients resume
    // that way) would answer 200 for an object whose parts can never authenticate.
    await expect(
      services.multipart.listParts(owner, id, uploadId, { after: 0, limit: 1000 }),
    ).rejects.toMatchObject({ code: "integrity_error" });
    const complete = (order: number[]) =>
      services.multipart.complete({
        owner,
        id,
        uploadId,
        parts: [1, 2, 3].map((n, i) => ({ number: n, etag: etags[order[i]! - 1]! })),
        cond: {},
      });
    await expect(complete([1, 2, 3])).rejects.toMatchObject({ code: "integrity_error" });
    await expect(complete([2, 1, 3])).rejects.toMatchObject({ code: "integrity_error" });
    expect(await services.objects.find(owner, id)).toBeNull();
  });
});
