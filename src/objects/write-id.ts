// The id of one write of an object: 16 bytes, unique per write, time-ordered.
//
// Bytes 0-5 are the time in milliseconds since 1970 (big-endian), bytes 6-15 are random (80 bits),
// the layout of a UUIDv7 without its version bits. The format only needs the id to be unique (each
// write also has its own data key, see docs/FORMAT.md); the time prefix is for the stores: segment
// rows are indexed by write id, and ids that grow with time add to the right edge of that B-tree
// instead of dirtying a random leaf page per write.
import { randomBytes } from "node:crypto";
import { WRITE_ID_BYTES } from "../crypto/segment-format.js";

const TIME_BYTES = 6;

export function newWriteId(now: number = Date.now()): Buffer {
  const id = randomBytes(WRITE_ID_BYTES);
  id.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, TIME_BYTES);
  return id;
}
