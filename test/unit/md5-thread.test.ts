// The MD5 thread gives exactly the MD5 of the bytes it was given, in order, for any chunking and
// for streams that interleave; a stream stops at a bounded number of blocks in flight; a thread
// that dies fails its open streams and later ones hash on the calling thread.
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localMd5, type Md5Stream, Md5Thread } from "../../src/objects/md5-thread.js";

const MiB = 1024 * 1024;
const thread = new Md5Thread();
afterAll(() => thread.close());

async function feed(s: Md5Stream, data: Buffer, piece: number): Promise<Buffer> {
  for (let off = 0; off < data.length; off += piece) {
    const w = s.update(data.subarray(off, off + piece));
    if (w) await w;
  }
  return s.digest();
}

const md5 = (b: Buffer) => createHash("md5").update(b).digest();

describe("the MD5 thread", () => {
  it.each([
    ["empty", 0, 1],
    ["one byte", 1, 1],
    ["1 MiB exactly", MiB, MiB],
    ["1 MiB + 1 in odd pieces", MiB + 1, 65_537],
    ["9 MiB (more blocks than may be in flight)", 9 * MiB, 64 * 1024],
    ["3 MiB in 1000-byte pieces", 3 * MiB, 1000],
  ])("%s: the same digest as node:crypto", async (_name, size, piece) => {
    const data = randomBytes(size);
    expect((await feed(thread.start(), data, piece)).equals(md5(data))).toBe(true);
    expect((await feed(localMd5(), data, piece)).equals(md5(data))).toBe(true);
  });

  it("keeps interleaved streams apart", async () => {
    const inputs = Array.from({ length: 4 }, (_, i) => randomBytes(2 * MiB + i * 12345));
    const streams = inputs.map(() => thread.start());
    for (let off = 0; off < 3 * MiB; off += 100_000)
      await Promise.all(
        inputs.map((d, i) =>
          off < d.length ? streams[i]!.update(d.subarray(off, off + 100_000)) : undefined,
        ),
      );
    const digests = await Promise.all(streams.map((s) => s.digest()));
    for (const [i, d] of inputs.entries()) expect(digests[i]!.equals(md5(d))).toBe(true);
  });

  it("bounds the blocks in flight: an update waits once four are out", async () => {
    const s = thread.start();
    const waits = [];
    for (let i = 0; i < 8; i++) waits.push(s.update(Buffer.alloc(MiB, i)));
    expect(waits.slice(0, 3).every((w) => w === undefined)).toBe(true);
    expect(waits.slice(3).some((w) => w !== undefined)).toBe(true);
    await Promise.all(waits);
    s.abort();
  });

  it("a thread that dies fails its open streams, and later streams hash on this thread", async () => {
    const script = path.join(os.tmpdir(), `md5-dies-${process.pid}.mjs`);
    writeFileSync(script, "process.exit(3);\n");
    const errors: unknown[] = [];
    const dying = new Md5Thread({ workerUrl: new URL(`file://${script}`), onError: (e) => errors.push(e) });
    const open = dying.start();
    open.update(Buffer.alloc(2 * MiB));
    await expect(open.digest()).rejects.toThrow(/exited/);
    expect(errors.length).toBe(1);
    const later = dying.start();
    expect((await feed(later, Buffer.from("abc"), 3)).equals(md5(Buffer.from("abc")))).toBe(true);
    await dying.close();
  });
});
