// The space watcher of the embedded store against a real volume (the temp dir's) and a real
// SQLite store: the reserve measured against what statfs says, the state /ready reports, the
// emergency space given up and set aside again, and one log line per change of state.
import { statfsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { BACKUP_HOLD_WARN_MS, DiskSpace, ObservedSpace } from "../../src/store/disk-space.js";
import { openSqliteStores } from "../../src/store/sqlite/open.js";
import { BACKUP_HOLD_FILE } from "../../src/store/sqlite/write-data.js";

const MiB = 1024 * 1024;
let cleanup: (() => Promise<void>) | null = null;

afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

async function open(reserve: (available: number) => number, now?: () => number) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sse-space-"));
  const stores = openSqliteStores(dir);
  cleanup = async () => {
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  };
  const fs = statfsSync(dir);
  const { logger, lines } = recordingLogger();
  const space = new DiskSpace({
    dir,
    reserve: reserve(fs.bavail * fs.bsize),
    store: stores.objectsFile,
    emergency: stores.emergency,
    logger,
    ...(now ? { now } : {}),
  });
  await space.start();
  return { space, lines, stores, dir };
}

async function refused(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).status).toBe(507);
  return err as AppError;
}

describe("the space watcher of the embedded store", () => {
  it("admits uploads while the volume is above the reserve, and sets the emergency space aside", async () => {
    const { space, stores } = await open(() => MiB);
    expect(stores.emergency.held).toBe(true);
    const state = await space.current();
    expect(state).toMatchObject({ writable: true, reason: "ok", reserveBytes: MiB });
    expect(state.availableBytes).toBeGreaterThan(MiB);
    const claim = await space.admit("upload", 10 * MiB);
    claim.add(10 * MiB);
    claim.end();
  });

  it("below the reserve: refuses uploads (any size), admits a small item, reports it once", async () => {
    // A reserve above what the volume has, but with room for items in its upper half.
    const { space, lines } = await open((available) => Math.floor(available * 1.5));
    const state = await space.current();
    expect(state).toMatchObject({ writable: false, reason: "below_reserve" });
    const err = await refused(space.admit("upload", 1));
    expect(err.detail).toMatch(/reserve/);
    await refused(space.admit("upload", undefined));
    const item = await space.admit("small", undefined);
    item.add(4096);
    item.end();
    const told = lines.filter((l) => /below the reserve/.test(l.msg));
    expect(told).toHaveLength(1);
    expect(told[0]!.level).toBe(50);
  });

  it("with a reserve of 0, is never below it", async () => {
    const { space } = await open(() => 0);
    expect((await space.current()).reason).toBe("ok");
  });

  it("after a full disk: once a look finds room, sets the emergency space aside again and accepts uploads", async () => {
    const { space, stores, lines } = await open(() => 0);
    // A write found the disk full and took the emergency space.
    expect(stores.emergency.release()).toBe(true);
    expect(stores.emergency.held).toBe(false);
    // The temp dir's volume has room: the look the release asked for recovers.
    await space.refresh();
    expect(stores.emergency.held).toBe(true);
    const state = await space.current();
    expect(state).toMatchObject({ writable: true, reason: "ok" });
    expect(lines.filter((l) => /the disk is full/.test(l.msg))).toHaveLength(1);
    expect(lines.filter((l) => /the disk has room again/.test(l.msg))).toHaveLength(1);
  });
});

describe("the backup hold", () => {
  it("is reported with its age, and logged at warn once it is older than a day, then hourly", async () => {
    let clock = Date.now();
    const { space, lines, dir } = await open(
      () => 0,
      () => clock,
    );
    expect((await space.current()).backupHoldSeconds).toBeNull();
    const hold = path.join(dir, BACKUP_HOLD_FILE);
    await writeFile(hold, "");
    const made = (await stat(hold)).mtimeMs;
    const at = async (ms: number) => {
      clock = made + ms;
      await space.refresh();
      return (await space.current()).backupHoldSeconds;
    };
    expect(await at(3_600_000)).toBe(3600);
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
    // A day and a second: one warning, naming the file; more looks within the hour add nothing.
    expect(await at(BACKUP_HOLD_WARN_MS + 1000)).toBe(BACKUP_HOLD_WARN_MS / 1000 + 1);
    await at(BACKUP_HOLD_WARN_MS + 60_000);
    const warned = lines.filter((l) => l.level === 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ file: hold, heldForHours: 24 });
    expect(warned[0]!.msg).toMatch(/backup hold .* over a day/);
    // An hour later, a reminder; then the hold is lifted: said once at info, and the gauge is null.
    await at(BACKUP_HOLD_WARN_MS + 3_700_000);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(2);
    await rm(hold);
    expect(await at(BACKUP_HOLD_WARN_MS + 3_800_000)).toBeNull();
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: "the backup hold is lifted or renewed" });
  });
});

describe("the database's own disk (PostgreSQL)", () => {
  it("reports a disk_full answer until a write succeeds, once in the log each way", async () => {
    const { logger, lines } = recordingLogger();
    const space = new ObservedSpace(logger);
    expect(await space.current()).toMatchObject({ writable: true, reason: "ok", availableBytes: null });
    // Nothing is refused up front: the database says when it is full.
    (await space.admit()).end();
    space.diskFull();
    space.diskFull();
    expect(await space.current()).toMatchObject({ writable: false, reason: "disk_full" });
    space.stored();
    expect(await space.current()).toMatchObject({ writable: true, reason: "ok" });
    expect(lines.map((l) => l.msg)).toEqual([
      "the database server's disk is full (53100): writes fail with 507 until it has room",
      "the database server accepts writes again",
    ]);
  });
});
