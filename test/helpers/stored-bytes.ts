// What a server keeps at rest, read from its SQLite file and blob files directly.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { BLOB_DIR } from "../../src/store/files/blob-files.js";

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The paths of every blob file of a data directory, garbage included. */
export function blobFiles(dataDir: string): string[] {
  const root = path.join(dataDir, BLOB_DIR);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((sub) => readdirSync(path.join(root, sub.name)).map((f) => path.join(root, sub.name, f)));
}

/** Bytes of the blob files beside objects.db (headers included), garbage included. */
export function blobFileBytes(objectsDb: string): number {
  return blobFiles(path.dirname(objectsDb)).reduce((n, f) => n + statSync(f).size, 0);
}

/** Sum of every blob stored in objects.db and of the blob files beside it: ciphertext, garbage included. */
export function storedBlobBytes(file: string): number {
  return sqliteBlobBytes(file) + blobFileBytes(file);
}

function sqliteBlobBytes(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    let total = 0;
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      for (const c of db.prepare(`PRAGMA table_info(${q(name)})`).all() as { name: string }[]) {
        const r = db
          .prepare(
            `SELECT sum(length(${q(c.name)})) AS n FROM ${q(name)} WHERE typeof(${q(c.name)}) = 'blob'`,
          )
          .get() as { n: number | null };
        total += r.n ?? 0;
      }
    }
    return total;
  } finally {
    db.close();
  }
}
