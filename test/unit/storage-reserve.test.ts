import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import {
  admits,
  defaultReserveBytes,
  freeAfter,
  GiB,
  headroom,
  logGrowth,
  SpaceLedger,
  type SpaceSnapshot,
  volumeAfter,
} from "../../src/objects/storage-reserve.js";

const MiB = 1024 * 1024;
const plain = (available: number): SpaceSnapshot => ({
  available,
  reusable: 0,
  journal: 0,
  journaled: false,
});

function refused(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(507);
    expect((err as AppError).code).toBe("insufficient_storage");
    return err as AppError;
  }
  throw new Error("expected a 507");
}

describe("the default reserve", () => {
  it("is the larger of 1 GiB and 2 % of the volume", () => {
    expect(defaultReserveBytes(60 * MiB)).toBe(GiB);
    expect(defaultReserveBytes(10 * GiB)).toBe(GiB);
    expect(defaultReserveBytes(50 * GiB)).toBe(GiB);
    expect(defaultReserveBytes(100 * GiB)).toBe(2 * GiB);
    expect(defaultReserveBytes(1000 * GiB)).toBe(20 * GiB);
  });
});

describe("free space", () => {
  it("counts the volume's free bytes and the free pages inside the database, less what is stored", () => {
    expect(freeAfter(plain(100 * MiB), 10 * MiB)).toBe(90 * MiB);
    expect(freeAfter({ ...plain(100 * MiB), reusable: 30 * MiB }, 10 * MiB)).toBe(120 * MiB);
    // The free pages take the data first: the volume gives only what they cannot hold.
    expect(volumeAfter({ ...plain(100 * MiB), reusable: 4 * MiB }, 10 * MiB)).toBe(94 * MiB);
    expect(volumeAfter({ ...plain(100 * MiB), reusable: 40 * MiB }, 10 * MiB)).toBe(100 * MiB);
  });

  it("counts the write-ahead log's growth too where every byte goes through it, less the log already on disk", () => {
    const wal = { available: 100 * MiB, reusable: 0, journal: 0, journaled: true };
    expect(logGrowth(wal, 25 * MiB)).toBe(25 * MiB);
    expect(freeAfter(wal, 25 * MiB)).toBe(50 * MiB);
    expect(logGrowth({ ...wal, journal: 27 * MiB }, 25 * MiB)).toBe(0);
    expect(freeAfter({ ...wal, journal: 27 * MiB }, 25 * MiB)).toBe(75 * MiB);
    const mixed = { ...wal, journal: 10 * MiB, reusable: 5 * MiB };
    expect(volumeAfter(mixed, 25 * MiB)).toBe(100 * MiB - 20 * MiB - 15 * MiB);
    expect(logGrowth(plain(0), 25 * MiB)).toBe(0);
  });
});

describe("admission", () => {
  it("refuses an upload that would bring the free space below the reserve, and admits one that stops at it", () => {
    const snap = plain(100 * MiB);
    expect(admits(snap, 10 * MiB, 0, 90 * MiB, "upload")).toBe(true);
    expect(admits(snap, 10 * MiB, 0, 90 * MiB + 1, "upload")).toBe(false);
    // With 30 MiB of other uploads in flight, only 60 MiB are left.
    expect(admits(snap, 10 * MiB, 30 * MiB, 60 * MiB, "upload")).toBe(true);
    expect(admits(snap, 10 * MiB, 30 * MiB, 61 * MiB, "upload")).toBe(false);
  });

  it("lets small writes use the upper half of the reserve, and nothing below it", () => {
    const snap = plain(8 * MiB);
    expect(admits(snap, 10 * MiB, 0, 0, "upload")).toBe(false);
    expect(admits(snap, 10 * MiB, 0, 3 * MiB, "small")).toBe(true);
    expect(admits(snap, 10 * MiB, 0, 3 * MiB + 1, "small")).toBe(false);
    expect(headroom(snap, 10 * MiB, 0, "small")).toBe(3 * MiB);
    expect(headroom(snap, 10 * MiB, 0, "upload")).toBe(-2 * MiB);
  });

  it("with a reserve of 0, admits whatever fits on the volume", () => {
    expect(admits(plain(5 * MiB), 0, 0, 5 * MiB, "upload")).toBe(true);
    expect(admits(plain(5 * MiB), 0, 0, 5 * MiB + 1, "upload")).toBe(false);
  });

  it("counts the space deleted objects left inside the database, as long as the volume can take the rest", () => {
    // 6 MiB free on the volume, below a reserve of 8 MiB; 20 MiB of free pages after deletes.
    const snap = { available: 6 * MiB, reusable: 20 * MiB, journal: 16 * MiB, journaled: true };
    expect(admits(snap, 8 * MiB, 0, 16 * MiB, "upload")).toBe(true);
    expect(admits(snap, 8 * MiB, 0, 18 * MiB + 1, "upload")).toBe(false);
    // Without the free pages, nothing.
    expect(admits({ ...snap, reusable: 0 }, 8 * MiB, 0, 1, "upload")).toBe(false);
    // Enough free pages but a log that would have to grow past what the volume has: refused.
    expect(admits({ ...snap, reusable: 100 * MiB, journal: 0 }, 0, 0, 7 * MiB, "upload")).toBe(false);
  });
});

describe("the ledger of writes in flight", () => {
  it("admits everything before the first snapshot", () => {
    const l = new SpaceLedger(GiB);
    expect(l.writable).toBe(true);
    l.claim("upload", 100 * GiB).end();
  });

  it("promises a declared length at admission, so two uploads cannot take the same space", () => {
    const l = new SpaceLedger(10 * MiB);
    l.update(plain(100 * MiB));
    const a = l.claim("upload", 60 * MiB);
    refused(() => l.claim("upload", 60 * MiB));
    const b = l.claim("upload", 30 * MiB);
    expect(l.pending).toBe(90 * MiB);
    expect(l.writable).toBe(true);
    refused(() => l.claim("upload", 1));
    // Bytes that arrive move from promised to received: still pending until a snapshot sees them.
    a.add(20 * MiB);
    expect(l.pending).toBe(90 * MiB);
    // The upload failed after 20 MiB: what it did not bring is free again.
    a.end();
    expect(l.pending).toBe(50 * MiB);
    // A new snapshot shows the 20 MiB on disk.
    l.update(plain(80 * MiB));
    expect(l.pending).toBe(30 * MiB);
    b.end();
    expect(l.pending).toBe(0);
    l.claim("upload", 70 * MiB).end();
    refused(() => l.claim("upload", 70 * MiB + 1));
  });

  it("stops a streamed upload without a declared length as it crosses the reserve", () => {
    const l = new SpaceLedger(10 * MiB);
    l.update(plain(30 * MiB));
    const c = l.claim("upload", undefined);
    for (let i = 0; i < 20; i++) c.add(MiB);
    const err = refused(() => c.add(1));
    expect(err.detail).toMatch(/reserve/);
    c.end();
    expect(l.pending).toBe(20 * MiB);
  });

  it("counts bytes beyond a declared length against the space as well", () => {
    const l = new SpaceLedger(0);
    l.update(plain(10 * MiB));
    const c = l.claim("upload", 8 * MiB);
    c.add(10 * MiB);
    refused(() => c.add(1));
  });

  it("admits an item inside the upper half of the reserve while uploads are refused", () => {
    const l = new SpaceLedger(10 * MiB);
    l.update(plain(9 * MiB));
    expect(l.writable).toBe(false);
    refused(() => l.claim("upload", 1));
    const item = l.claim("small", undefined);
    item.add(4 * 1024);
    item.end();
    l.update(plain(4 * MiB));
    refused(() => l.claim("small", undefined).add(1));
  });

  it("ignores what is counted after the end", () => {
    const l = new SpaceLedger(0);
    l.update(plain(MiB));
    const c = l.claim("upload", 1000);
    c.end();
    c.add(10 * MiB);
    c.end();
    expect(l.pending).toBe(0);
  });
});
