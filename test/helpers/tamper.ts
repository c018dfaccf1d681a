// Damages stored ciphertext behind a running server's back, the way a faulty disk or an attacker
// with file access would, so tests can watch integrity checks fire.
import path from "node:path";
import Database from "better-sqlite3";

/** Flips one bit in segment `index` of the object `id` (any owner) in `dataDir`/objects.db. */
export function flipSegmentBit(dataDir: string, id: string, index = 0): void {
  const db = new Database(path.join(dataDir, "objects.db"));
  try {
    db.pragma("busy_timeout = 5000");
    const row = db
      .prepare(
        "SELECT s.rowid AS rowid, s.data AS data FROM segments s JOIN objects o ON o.write_id = s.write_id WHERE o.id = ? AND s.idx = ?",
      )
      .get(id, index) as { rowid: number; data: Buffer } | undefined;
    if (!row) throw new Error(`no segment ${index} of object ${id}`);
    const data = Buffer.from(row.data);
    data[data.length - 1]! ^= 0x01;
    db.prepare("UPDATE segments SET data = ? WHERE rowid = ?").run(data, row.rowid);
  } finally {
    db.close();
  }
}
