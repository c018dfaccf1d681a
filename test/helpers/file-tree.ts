// Deterministic test files for the real-client S3 tests: the same seed always gives the same bytes
// (random-looking or compressible), written in chunks so that large files never sit in memory, and
// a directory tree's contents as relative path → SHA-256, to compare trees byte for byte.
import { createCipheriv, createHash } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import path from "node:path";

const CHUNK = 1024 * 1024;

/** Incompressible bytes: the AES-256-CTR keystream of a key derived from `seed`. */
export function* randomChunks(seed: string, size: number): Generator<Buffer> {
  const key = createHash("sha256").update(seed).digest();
  const ctr = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) yield ctr.update(zeros.subarray(0, Math.min(CHUNK, left)));
}

/** Highly compressible bytes: numbered text lines that differ with `seed`. */
export function* textChunks(seed: string, size: number): Generator<Buffer> {
  let line = 0;
  let left = size;
  while (left > 0) {
    const lines: string[] = [];
    let n = 0;
    while (n < Math.min(CHUNK, left)) {
      const l = `${seed} line ${line++}: the quick brown fox jumps over the lazy dog\n`;
      lines.push(l);
      n += l.length;
    }
    const b = Buffer.from(lines.join("")).subarray(0, Math.min(CHUNK, left));
    left -= b.length;
    yield b;
  }
}

export function bytesOf(chunks: Iterable<Buffer>): Buffer {
  return Buffer.concat([...chunks]);
}

/** Writes `chunks` to `file` (parents created). */
export function writeChunks(file: string, chunks: Iterable<Buffer>): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, "w");
  try {
    for (const c of chunks) writeSync(fd, c);
  } finally {
    closeSync(fd);
  }
}

/** Every regular file under `dir`, as its path relative to `dir` (with `/`) → hex SHA-256. */
export function treeDigests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (sub: string) => {
    for (const e of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) out.set(rel, digestFile(path.join(dir, rel)));
    }
  };
  walk("");
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function digestFile(file: string): string {
  const h = createHash("sha256");
  const size = statSync(file).size;
  // Small files at once; large ones a chunk at a time.
  if (size <= CHUNK) return h.update(readFileSync(file)).digest("hex");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
