// The BlobStore on the local file system: one file per write under SSE_DATA_DIR/blobs/<xx>/, where
// xx is the last byte of the write id (its random part), so no directory grows past 1/256 of them.
// A file is a 32-byte header (magic, layout version, segment stride, write id) and the sealed
// segments back to back, so segment i lies at 32 + i * stride: a read of any range is one
// positioned read. Written once with positioned writes, then fdatasync'd, then its directory
// fsync'd (seal), all before the metadata names it; see docs/FORMAT.md, "Blob files".
import { mkdirSync } from "node:fs";
import { type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { syncDirectory, syncDirectorySync } from "../../directory-sync.js";
import { DiskFullError, IntegrityError, isNoSpaceErrno, StorageUnavailableError } from "../../errors.js";
import type { BlobStore } from "../blob-store.js";

export const BLOB_DIR = "blobs";
export const BLOB_HEADER_BYTES = 32;
const MAGIC = Buffer.from("SSEB");
const LAYOUT_VERSION = 1;
const WRITE_ID_BYTES = 16;
/** No stride of a sane write is larger (segments are 64 KiB by default; the format allows up to 16 MiB). */
const MAX_STRIDE = 16 * 1024 * 1024 + 1024;
const NAME_RE = /^[0-9a-f]{32}$/;

interface Writing {
  fh: FileHandle;
  stride: number;
}

/** A file-system failure as the store's error: a full disk is 507, anything else 503 (cause logged). */
function storageFault(err: unknown): Error {
  if (err instanceof StorageUnavailableError || err instanceof IntegrityError) return err;
  return isNoSpaceErrno(err) ? new DiskFullError(err) : new StorageUnavailableError(err);
}

const isMissing = (err: unknown) => (err as { code?: unknown } | null)?.code === "ENOENT";

function header(writeId: Buffer, stride: number): Buffer {
  const h = Buffer.alloc(BLOB_HEADER_BYTES);
  MAGIC.copy(h, 0);
  h[4] = LAYOUT_VERSION;
  h.writeUInt32BE(stride, 8);
  writeId.copy(h, 12);
  return h;
}

/** Writes every byte of `bufs` at `position`, going on after a short write. */
async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let total = 0;
  for (const b of bufs) total += b.length;
  const { bytesWritten } = await fh.writev(bufs, position);
  if (bytesWritten === total) return;
  let skip = bytesWritten;
  let pos = position + bytesWritten;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    let rest = b.subarray(skip);
    skip = 0;
    while (rest.length > 0) {
      const { bytesWritten: n } = await fh.write(rest, 0, rest.length, pos);
      rest = rest.subarray(n);
      pos += n;
    }
  }
}

/** Reads up to `length` bytes at `position` (fewer only at the end of the file). */
async function readUpTo(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

export class FileBlobStore implements BlobStore {
  readonly #root: string;
  readonly #writing = new Map<string, Writing>();

  /** The blob directory beside objects.db (created with its 256 subdirectories, durably, if missing). */
  static open(dataDir: string): FileBlobStore {
    const root = path.join(dataDir, BLOB_DIR);
    let created = mkdirSync(root, { recursive: true, mode: 0o700 }) !== undefined;
    for (let i = 0; i < 256; i++) {
      const sub = path.join(root, i.toString(16).padStart(2, "0"));
      if (mkdirSync(sub, { recursive: true, mode: 0o700 }) !== undefined) created = true;
    }
    if (created) {
      // The new directories' names, before any blob in them is relied on.
      syncDirectorySync(root);
      syncDirectorySync(dataDir);
    }
    return new FileBlobStore(root);
  }

  private constructor(root: string) {
    this.#root = root;
  }

  #file(writeId: Buffer): string {
    if (writeId.length !== WRITE_ID_BYTES) throw new Error("a blob's write id is 16 bytes");
    const name = writeId.toString("hex");
    return path.join(this.#root, name.slice(-2), name);
  }

  async append(writeId: Buffer, first: number, segments: Buffer[]): Promise<void> {
    if (segments.length === 0) return;
    const key = writeId.toString("hex");
    let w = this.#writing.get(key);
    let bufs = segments;
    if (!w) {
      if (first !== 0) throw new Error(`blob ${key} is not being written`);
      // At least 1, so that a blob of one empty segment still has a stride to read by.
      const stride = Math.max(1, segments[0]!.length);
      try {
        // Exclusive: a write id names one write, ever.
        w = { fh: await open(this.#file(writeId), "wx", 0o600), stride };
      } catch (err) {
        throw storageFault(err);
      }
      this.#writing.set(key, w);
      bufs = [header(writeId, stride), ...segments];
    }
    const position = first === 0 ? 0 : BLOB_HEADER_BYTES + first * w.stride;
    try {
      await writeAll(w.fh, bufs, position);
    } catch (err) {
      throw storageFault(err);
    }
  }

  async seal(writeId: Buffer): Promise<void> {
    const key = writeId.toString("hex");
    const w = this.#writing.get(key);
    if (!w) return;
    try {
      await w.fh.datasync();
      this.#writing.delete(key);
      await w.fh.close();
      await syncDirectory(path.dirname(this.#file(writeId)));
    } catch (err) {
      throw storageFault(err);
    }
  }

  async read(writeId: Buffer, first: number, count: number): Promise<Buffer[] | null> {
    if (count <= 0) return [];
    let fh: FileHandle;
    try {
      fh = await open(this.#file(writeId), "r");
    } catch (err) {
      if (isMissing(err)) return null;
      throw storageFault(err);
    }
    try {
      const h = await readUpTo(fh, BLOB_HEADER_BYTES, 0);
      if (h.length < BLOB_HEADER_BYTES || !h.subarray(0, 4).equals(MAGIC) || h[4] !== LAYOUT_VERSION)
        throw new IntegrityError("the object's blob file is damaged: its header is not a blob header");
      if (!h.subarray(12, 28).equals(writeId))
        throw new IntegrityError("the object's blob file holds another write");
      const stride = h.readUInt32BE(8);
      if (stride === 0 || stride > MAX_STRIDE)
        throw new IntegrityError("the object's blob file is damaged: its segment stride is impossible");
      const data = await readUpTo(fh, count * stride, BLOB_HEADER_BYTES + first * stride);
      const out: Buffer[] = [];
      for (let at = 0; at < data.length; at += stride)
        out.push(data.subarray(at, Math.min(at + stride, data.length)));
      return out;
    } catch (err) {
      throw storageFault(err);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async remove(writeId: Buffer): Promise<void> {
    const key = writeId.toString("hex");
    const w = this.#writing.get(key);
    if (w) {
      this.#writing.delete(key);
      await w.fh.close().catch(() => undefined);
    }
    try {
      await unlink(this.#file(writeId));
    } catch (err) {
      if (!isMissing(err)) throw storageFault(err);
    }
  }

  async *list(): AsyncIterable<Buffer> {
    for (let i = 0; i < 256; i++) {
      let names: string[];
      try {
        names = await readdir(path.join(this.#root, i.toString(16).padStart(2, "0")));
      } catch (err) {
        if (isMissing(err)) continue;
        throw storageFault(err);
      }
      for (const name of names) if (NAME_RE.test(name)) yield Buffer.from(name, "hex");
    }
  }

  async size(writeId: Buffer): Promise<number | null> {
    try {
      return (await stat(this.#file(writeId))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw storageFault(err);
    }
  }

  async close(): Promise<void> {
    const open = [...this.#writing.values()];
    this.#writing.clear();
    await Promise.allSettled(open.map((w) => w.fh.close()));
  }
}
