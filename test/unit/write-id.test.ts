// Write ids: 16 bytes, unique, and ordered by time so that the stores' segment index grows at its
// right edge (see src/objects/write-id.ts).
import { describe, expect, it } from "vitest";
import { WRITE_ID_BYTES } from "../../src/crypto/segment-format.js";
import { newWriteId } from "../../src/objects/write-id.js";

describe("newWriteId", () => {
  it("is 16 bytes: the millisecond time, big-endian, then 80 random bits", () => {
    const at = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
    const id = newWriteId(at);
    expect(id.length).toBe(WRITE_ID_BYTES);
    expect(id.readUIntBE(0, 6)).toBe(at);
    // The random part differs between two ids of the same millisecond.
    expect(newWriteId(at).subarray(6).equals(id.subarray(6))).toBe(false);
  });

  it("sorts by time: a later write has a larger id, bytewise", () => {
    const ids = [0, 1, 255, 256, 65_535, 2 ** 40, Date.now(), 2 ** 48 - 1].map((t) => newWriteId(t));
    for (let i = 1; i < ids.length; i++) expect(Buffer.compare(ids[i - 1]!, ids[i]!)).toBe(-1);
  });

  it("never repeats over many ids made in the same millisecond", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(newWriteId(1_000).toString("hex"));
    expect(seen.size).toBe(20_000);
  });
});
