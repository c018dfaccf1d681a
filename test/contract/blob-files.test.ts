// The BlobStore contract on the file adapter, and what only files have: the layout on disk.
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BLOB_HEADER_BYTES, FileBlobStore } from "../../src/store/files/blob-files.js";
import { blobStoreContract } from "./blobs.contract.js";

const file = (dir: string, w: Buffer) => {
  const name = w.toString("hex");
  return path.join(dir, "blobs", name.slice(-2), name);
};

blobStoreContract("files", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sse-blobs-"));
  return {
    blobs: FileBlobStore.open(dir),
    async corrupt(w, how, other) {
      const f = file(dir, w);
      if (how === "truncate") truncateSync(f, statSync(f).size - 50);
      else if (how === "swap-with") copyFileSync(file(dir, other!), f);
      else {
        const fh = await open(f, "r+");
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, BLOB_HEADER_BYTES + 10);
        b[0] = b[0]! ^ 0x40;
        await fh.write(b, 0, 1, BLOB_HEADER_BYTES + 10);
        await fh.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("blob files on disk", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("one file per write, 0600, under 256 subdirectories named by the write id's last byte", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sse-blobs-"));
    dirs.push(dir);
    const blobs = FileBlobStore.open(dir);
    expect(readdirSync(path.join(dir, "blobs"))).toHaveLength(256);
    const w = randomBytes(16);
    await blobs.append(w, 0, [randomBytes(1000), randomBytes(10)]);
    await blobs.seal(w);
    const st = statSync(file(dir, w));
    expect(st.mode & 0o777).toBe(0o600);
    // The header, then the segments back to back: each byte of ciphertext written once.
    expect(st.size).toBe(BLOB_HEADER_BYTES + 1010);
    await blobs.close();
    // Reopening an existing directory changes nothing.
    FileBlobStore.open(dir);
    expect(statSync(file(dir, w)).size).toBe(BLOB_HEADER_BYTES + 1010);
  });

  it("a file that is not a blob is refused as damage, not read", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sse-blobs-"));
    dirs.push(dir);
    const blobs = FileBlobStore.open(dir);
    const w = randomBytes(16);
    await blobs.append(w, 0, [randomBytes(100)]);
    await blobs.seal(w);
    const fh = await open(file(dir, w), "r+");
    await fh.write(Buffer.from("NOPE"), 0, 4, 0);
    await fh.close();
    await expect(blobs.read(w, 0, 1)).rejects.toMatchObject({ code: "integrity_error" });
  });
});
