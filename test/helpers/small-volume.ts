// A small filesystem of the test's own: a tmpfs mounted in a temp dir (which needs root), that a
// test can fill up to a given free space with a file of its own, as another program would, grow
// by remounting, and unmount at the end.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const MiB = 1024 * 1024;

export interface SmallVolume {
  dir: string;
  /** Free bytes, as the server sees them (statfs: available blocks). */
  available(): number;
  /**
   * Grows the filler file until at most `leave` bytes are free (0: until the volume is full).
   * Returns the free bytes left.
   */
  fill(leave?: number): number;
  /** Deletes the filler file. */
  unfill(): void;
  /** Remounts with a new size, data kept. */
  resize(sizeMiB: number): void;
  /** Unmounts and removes the directory. */
  destroy(): void;
}

/** Mounts a tmpfs of `sizeMiB`; null (with the reason) where mounting is not allowed. */
export function mountSmallVolume(sizeMiB: number): { volume: SmallVolume } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: "not root" };
  const dir = mkdtempSync(path.join(os.tmpdir(), "sse-volume-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0700`, "tmpfs", dir], {
      stdio: "pipe",
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: String((err as { stderr?: Buffer }).stderr ?? err).trim() || "mount failed" };
  }
  const filler = path.join(dir, "filler");
  const available = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  const volume: SmallVolume = {
    dir,
    available,
    fill(leave = 0) {
      const fd = openSync(filler, "a");
      const chunk = Buffer.alloc(MiB, 0x66);
      try {
        for (;;) {
          const room = available() - leave;
          if (room <= 0) break;
          try {
            writeSync(fd, chunk, 0, Math.min(chunk.length, room));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
      return available();
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    resize(size) {
      execFileSync("mount", ["-o", `remount,size=${size}m`, dir], { stdio: "pipe" });
    },
    destroy() {
      try {
        execFileSync("umount", [dir], { stdio: "pipe" });
      } catch {
        // Busy (a process still has a file open): lazily, so the test run can end.
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return { volume };
}
