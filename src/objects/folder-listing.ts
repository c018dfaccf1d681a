// Listing with a delimiter, the way S3's ListObjectsV2 does it: ids under a prefix, with every id
// that has a further `/` folded into one folder entry. Folders are skipped with one store query
// each (an `after` just past the folder), so a folder of a million ids costs as much as one id.
import { hasC0Control } from "../control-characters.js";
import { AppError } from "../errors.js";
import { ID_HIGH } from "../store/id-order.js";
import type { ObjectStore } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";

/** Sorts after every character an id may hold, so `folder + PAST` follows every id in the folder. */
const PAST = ID_HIGH;
const MAX_CURSOR_CHARS = 2048;

export type FolderEntry = { kind: "folder"; prefix: string } | { kind: "object"; meta: ObjectMeta };

export interface FolderPage {
  entries: FolderEntry[];
  /** Opaque cursor of the next page, or null when this is the last. */
  next: string | null;
}

export interface FolderQuery {
  prefix: string;
  /** Folds the ids that hold it after the prefix into folders ("/" in the console); undefined: none. */
  delimiter?: string;
  /** A cursor from a previous page. */
  cursor?: string;
  /** Without a cursor: start strictly after this id in list order (S3's start-after and marker). */
  after?: string;
  limit: number;
}

export function encodeCursor(after: string): string {
  return Buffer.from(after, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): string {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw new AppError("bad_request", "cursor is not one this server issued");
  const raw = Buffer.from(cursor, "base64url");
  const after = raw.toString("utf8");
  // Only what encodeCursor makes of an id, or of a folder and PAST: valid UTF-8, no controls.
  const plausible = after.length > 0 && Buffer.byteLength(after) === raw.length && !hasC0Control(after);
  if (!plausible) throw new AppError("bad_request", "cursor is not one this server issued");
  return after;
}

export async function listFolder(store: ObjectStore, owner: string, q: FolderQuery): Promise<FolderPage> {
  const entries: FolderEntry[] = [];
  /** The list position after the last entry taken; becomes the next page's cursor. */
  let after = q.cursor === undefined ? q.after : decodeCursor(q.cursor);
  const want = q.limit + 1;
  let positions: string[] = [];
  for (;;) {
    const batch = await store.listObjects(owner, {
      prefix: q.prefix || undefined,
      after,
      limit: Math.min(1000, want),
    });
    /** The folder just taken: the ids that follow in it are folded into it. */
    let folder: string | null = null;
    for (const meta of batch) {
      if (folder !== null && meta.id.startsWith(folder)) continue;
      folder = null;
      const rest = meta.id.slice(q.prefix.length);
      const cut = q.delimiter ? rest.indexOf(q.delimiter) : -1;
      if (cut >= 0) {
        // The folder ends with the whole delimiter, whatever its length.
        folder = q.prefix + rest.slice(0, cut + (q.delimiter?.length ?? 0));
        entries.push({ kind: "folder", prefix: folder });
        positions.push(folder + PAST);
      } else {
        entries.push({ kind: "object", meta });
        positions.push(meta.id);
      }
      if (entries.length === want) break;
    }
    if (entries.length === want || batch.length < Math.min(1000, want)) break;
    // Continue past the folder we were in, or past the last id read.
    after = folder !== null ? folder + PAST : batch[batch.length - 1]!.id;
  }
  const more = entries.length > q.limit;
  if (more) {
    entries.length = q.limit;
    positions = positions.slice(0, q.limit);
  }
  return { entries, next: more ? encodeCursor(positions[positions.length - 1]!) : null };
}
