// Space set aside for a full disk: a file in the data directory, deleted the moment a write finds
// the disk full, so that deletes and the small changes that go with them (tokens, keys, items)
// still succeed. SQLite appends every change to the WAL, and while objects.db cannot grow the WAL
// cannot be checkpointed and reused either: without free bytes on the volume even a DELETE fails.
// Uploads never use it (they are refused while it is released), and it is written again once the
// volume has room. Measured and explained in docs/OPERATIONS.md, "A full disk".
import { randomFillSync } from "node:crypto";
import { existsSync, statSync, unlinkSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { isDiskFull } from "./migrations.js";

export const EMERGENCY_FILE = "emergency-space";
const MiB = 1024 * 1024;

/** 1/64 of the volume, from 1 MiB to 64 MiB: a full disk's worth of deletes (a few 16 KiB pages each). */
export function emergencySizeFor(volumeBytes: number): number {
  return Math.min(64 * MiB, Math.max(MiB, Math.floor(volumeBytes / 64 / MiB) * MiB));
}

export class EmergencySpace {
  #held: boolean;
  #restoring: Promise<boolean> | null = null;
  readonly #released = new Set<() => void>();

  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {
    this.#held = existsSync(file) && statSync(file).size >= bytes;
  }

  /** Whether the file is there, ready to be given up. */
  get held(): boolean {
    return this.#held;
  }

  /** Called (synchronously) whenever the space is given up. */
  onRelease(fn: () => void): void {
    this.#released.add(fn);
  }

  /**
   * Deletes the file; true if that freed space. Synchronous: a transaction that found the disk
   * full is waiting to run again.
   */
  release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    try {
      unlinkSync(this.file);
    } catch {
      return false;
    }
    for (const fn of this.#released) fn();
    return true;
  }

  /**
   * Writes the file (again) when it is missing; false when the volume has no room for it. Its
   * bytes are random, so that a compressing filesystem really sets them aside.
   */
  restore(): Promise<boolean> {
    if (this.#held) return Promise.resolve(true);
    this.#restoring ??= this.#write().finally(() => {
      this.#restoring = null;
    });
    return this.#restoring;
  }

  async #write(): Promise<boolean> {
    // Another worker (SSE_WORKERS) on the data dir may have set it aside again already.
    if (existsSync(this.file) && statSync(this.file).size >= this.bytes) {
      this.#held = true;
      return true;
    }
    // Written aside and renamed into place: workers restoring at once never remove each other's file.
    const temp = `${this.file}.${process.pid}.tmp`;
    const chunk = Buffer.allocUnsafe(Math.min(MiB, this.bytes));
    const fh = await open(temp, "w", 0o600);
    try {
      for (let done = 0; done < this.bytes; done += chunk.length) {
        randomFillSync(chunk);
        await fh.write(chunk, 0, Math.min(chunk.length, this.bytes - done));
      }
      await fh.sync();
      await fh.close();
      await rename(temp, this.file);
      this.#held = true;
      return true;
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(temp, { force: true });
      if (isDiskFull(err)) return false;
      throw err;
    }
  }
}

/**
 * Runs a transaction; when it finds the disk full and the emergency space can be given up, runs it
 * once more (the failed attempt was rolled back). For deletes and metadata changes, never uploads.
 */
export function withEmergencyRoom<T>(space: EmergencySpace | null | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isDiskFull(err) || !space?.release()) throw err;
    return fn();
  }
}
