// The disk's sequential write speed: the same number of bytes the object figures stream, written in
// 1 MiB writes to a file next to the data dirs, then one fsync; the time includes the fsync.
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { MiB } from "./http-stream.js";

export interface DiskResult {
  bytes: number;
  seconds: number;
  /** Of which the final fsync. */
  fsyncSeconds: number;
  mbps: number;
  file: string;
}

export function measureDiskWrite(dir: string, bytes: number, block: Buffer): DiskResult {
  const file = path.join(dir, `sse-bench-disk-${process.pid}.bin`);
  const fd = openSync(file, "w", 0o600);
  try {
    const t0 = performance.now();
    for (let done = 0; done < bytes; ) {
      const n = Math.min(MiB, bytes - done);
      let off = 0;
      while (off < n) off += writeSync(fd, block, off, n - off);
      done += n;
    }
    const t1 = performance.now();
    fsyncSync(fd);
    const t2 = performance.now();
    const seconds = (t2 - t0) / 1000;
    return { bytes, seconds, fsyncSeconds: (t2 - t1) / 1000, mbps: bytes / seconds / 1e6, file };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
