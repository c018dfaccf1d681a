// What a server keeps at rest, read from its SQLite file directly.
import Database from "better-sqlite3";

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Sum of every blob stored in objects.db: ciphertext, garbage included. */
export function storedBlobBytes(file: string): number {
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
