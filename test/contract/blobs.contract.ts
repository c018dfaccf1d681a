// The BlobStore contract: every blob adapter runs this suite unchanged (today the files under
// SSE_DATA_DIR/blobs; an S3-compatible bucket would run it too).
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlobStore } from "../../src/store/blob-store.js";

export interface BlobFixture {
  blobs: BlobStore;
  /** Overwrites part of a stored blob as damage would (a bad disk, a hostile edit). */
  corrupt?(writeId: Buffer, how: "truncate" | "flip" | "swap-with", other?: Buffer): Promise<void>;
  cleanup(): Promise<void>;
}

const segs = (n: number, size = 100, last = 37) =>
  Array.from({ length: n }, (_, i) => randomBytes(i === n - 1 ? last : size));

async function collect(it: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const w of it) out.push(w.toString("hex"));
  return out.sort();
}

export function blobStoreContract(name: string, factory: () => Promise<BlobFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let f: BlobFixture;
    let blobs: BlobStore;
    beforeEach(async () => {
      f = await factory();
      blobs = f.blobs;
    });
    afterEach(async () => {
      await blobs.close();
      await f.cleanup();
    });

    async function stored(n: number, size = 100, last = 37) {
      const w = randomBytes(16);
      const s = segs(n, size, last);
      for (let i = 0; i < n; i += 3) await blobs.append(w, i, s.slice(i, i + 3));
      await blobs.seal(w);
      return { w, s };
    }

    it("reads back any range of segments, fewer at the end, none past it", async () => {
      const { w, s } = await stored(10);
      expect(await blobs.read(w, 0, 10)).toEqual(s);
      expect(await blobs.read(w, 3, 2)).toEqual(s.slice(3, 5));
      expect(await blobs.read(w, 8, 16)).toEqual(s.slice(8));
      expect(await blobs.read(w, 10, 4)).toEqual([]);
      expect(await blobs.read(w, 2, 0)).toEqual([]);
    });

    it("a blob of one short segment, and of one empty segment", async () => {
      const { w, s } = await stored(1, 100, 5);
      expect(await blobs.read(w, 0, 16)).toEqual(s);
      const e = randomBytes(16);
      await blobs.append(e, 0, [Buffer.alloc(0)]);
      await blobs.seal(e);
      // An empty last segment reads as nothing: the reader sees a missing segment, never wrong bytes.
      expect(((await blobs.read(e, 0, 1)) ?? []).every((b) => b.length === 0)).toBe(true);
    });

    it("the caller may reuse its buffers once append resolves; reads are the caller's to overwrite", async () => {
      const w = randomBytes(16);
      const buf = [Buffer.alloc(100, 1), Buffer.alloc(100, 2)];
      await blobs.append(w, 0, buf);
      buf[0]!.fill(9);
      buf[1]!.fill(9);
      await blobs.append(w, 2, [Buffer.alloc(10, 3)]);
      await blobs.seal(w);
      const a = (await blobs.read(w, 0, 3))!;
      expect(a.map((b) => b[0])).toEqual([1, 2, 3]);
      a[0]!.fill(7);
      expect((await blobs.read(w, 0, 1))![0]![0]).toBe(1);
    });

    it("null for a write with no blob; remove is idempotent, also mid-write", async () => {
      expect(await blobs.read(randomBytes(16), 0, 1)).toBeNull();
      expect(await blobs.size(randomBytes(16))).toBeNull();
      const { w } = await stored(3);
      expect(await blobs.size(w)).toBeGreaterThan(200);
      await blobs.remove(w);
      await blobs.remove(w);
      expect(await blobs.read(w, 0, 1)).toBeNull();
      const half = randomBytes(16);
      await blobs.append(half, 0, segs(2));
      await blobs.remove(half);
      expect(await blobs.read(half, 0, 1)).toBeNull();
      expect(await collect(blobs.list())).toEqual([]);
    });

    it("lists every blob, written or being written", async () => {
      const a = await stored(2);
      const b = await stored(4);
      const c = randomBytes(16);
      await blobs.append(c, 0, segs(1));
      expect(await collect(blobs.list())).toEqual([a.w, b.w, c].map((w) => w.toString("hex")).sort());
    });

    it("a write id names one blob, ever: creating it again fails", async () => {
      const { w } = await stored(2);
      await expect(blobs.append(w, 0, segs(1))).rejects.toThrow();
      expect(await blobs.read(w, 0, 2)).toHaveLength(2);
    });

    it("many blobs written at once stay apart", async () => {
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => stored(1 + (i % 5), 64 + i)));
      for (const { w, s } of all) expect(await blobs.read(w, 0, 16)).toEqual(s);
    });

    it("damage never yields another write's bytes: cut short, flipped, or another write's blob", async () => {
      if (!f.corrupt) return;
      const { w, s } = await stored(4);
      await f.corrupt(w, "truncate");
      const cut = (await blobs.read(w, 0, 4)) ?? [];
      // Whatever comes back is a prefix of what was written, shorter than it.
      expect(Buffer.concat(cut).length).toBeLessThan(Buffer.concat(s).length);
      expect(Buffer.concat(s).subarray(0, Buffer.concat(cut).length)).toEqual(Buffer.concat(cut));

      const x = await stored(3);
      await f.corrupt(x.w, "flip");
      const flipped = (await blobs.read(x.w, 0, 3)) ?? [];
      expect(flipped).not.toEqual(x.s); // the AEAD above refuses it; the store must not repair it silently

      const a = await stored(2);
      const b = await stored(2);
      await f.corrupt(a.w, "swap-with", b.w);
      await expect(blobs.read(a.w, 0, 2)).rejects.toMatchObject({ code: "integrity_error" });
    });
  });
}
