// Damages stored ciphertext behind a running server's back, the way a faulty disk or an attacker
// with file access would, so tests can watch integrity checks fire.
import { withSegments } from "./stored-segments.js";

/** Flips one bit in segment `index` of the object `id` (any owner) in `dataDir`, wherever it lies. */
export function flipSegmentBit(dataDir: string, id: string, index = 0): void {
  withSegments(dataDir, (s) => {
    const w = s.db.prepare("SELECT write_id FROM objects WHERE id = ?").pluck().get(id) as Buffer | undefined;
    if (!w || !s.list(w).some((x) => x.idx === index)) throw new Error(`no segment ${index} of object ${id}`);
    s.update(w, index, (data) => {
      data[data.length - 1]! ^= 0x01;
      return data;
    });
  });
}
