import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  EmergencySpace,
  emergencySizeFor,
  withEmergencyRoom,
} from "../../src/store/sqlite/emergency-space.js";

const MiB = 1024 * 1024;
const full = () => new Database.SqliteError("database or disk is full", "SQLITE_FULL");
let dir: string;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function space(bytes = MiB): EmergencySpace {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-emergency-"));
  return new EmergencySpace(path.join(dir, "emergency-space"), bytes);
}

describe("the emergency space", () => {
  it("is 1/64 of the volume, from 1 MiB to 64 MiB", () => {
    expect(emergencySizeFor(60 * MiB)).toBe(MiB);
    expect(emergencySizeFor(640 * MiB)).toBe(10 * MiB);
    expect(emergencySizeFor(100 * 1024 * MiB)).toBe(64 * MiB);
  });

  it("is written when missing, given up once, and written again", async () => {
    const s = space(3 * MiB + 5);
    expect(s.held).toBe(false);
    expect(await s.restore()).toBe(true);
    expect(statSync(s.file).size).toBe(3 * MiB + 5);
    expect(new EmergencySpace(s.file, s.bytes).held).toBe(true);
    let told = 0;
    s.onRelease(() => told++);
    expect(s.release()).toBe(true);
    expect(existsSync(s.file)).toBe(false);
    expect(told).toBe(1);
    expect(s.release()).toBe(false);
    expect(told).toBe(1);
    expect(await s.restore()).toBe(true);
    expect(s.held).toBe(true);
  });

  it("lets a write that found the disk full run once more in the space it frees", async () => {
    const s = space();
    await s.restore();
    let runs = 0;
    const result = withEmergencyRoom(s, () => {
      if (++runs === 1) throw full();
      return "stored";
    });
    expect(result).toBe("stored");
    expect(runs).toBe(2);
    expect(s.held).toBe(false);
    // Nothing left to give up: the next full disk is the caller's error.
    expect(() =>
      withEmergencyRoom(s, () => {
        throw full();
      }),
    ).toThrow(/disk is full/);
  });

  it("gives nothing up for other errors, or without a space", async () => {
    const s = space();
    await s.restore();
    expect(() =>
      withEmergencyRoom(s, () => {
        throw new Database.SqliteError("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE");
      }),
    ).toThrow(/UNIQUE/);
    expect(s.held).toBe(true);
    expect(() =>
      withEmergencyRoom(null, () => {
        throw full();
      }),
    ).toThrow(/disk is full/);
  });
});
