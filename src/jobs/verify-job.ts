// Verify: reads and authenticates every object (of every user, or of one), segment by segment, and
// lists each one that fails. The cursor is (owner uid, last object id, bytes so far); users go in
// uid order. Progress counts objects and bytes, so one large object does not look like a stall.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { KeyProviderError, StorageUnavailableError } from "../errors.js";
import type { ObjectService } from "../objects/object-service.js";
import type { AccountStore } from "../store/account-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { ObjectMeta, UserRecord } from "../store/records.js";
import { DamageReport } from "./damage-report.js";
import { type JobContext, type JobHandler, JobInterrupted } from "./job-runner.js";

export const VERIFY = "verify";
const PAGE = 100;
/** Progress is saved at least this often while large objects are read. */
const CHECKPOINT_MS = 1000;
/** Segments read between two yields to the event loop. */
const SEGMENTS_PER_YIELD = 16;

interface Cursor {
  owner: string;
  /** Last object id verified in `owner`'s namespace. */
  after: string | null;
  /** Bytes of the objects verified up to `after` (an object cut short is read again on resume). */
  bytes?: number;
}

/** What the job saves in its result besides the damage: bytes read and to read (JobJson lifts them). */
interface ByteProgress {
  bytesDone?: number;
  bytesTotal?: number;
}

/** The users a verify job covers: one (target uid) or all, in uid order. */
export async function verifyScope(accounts: AccountStore, target: string | null): Promise<UserRecord[]> {
  if (target) {
    const u = await accounts.getUserByUid(target);
    return u ? [u] : [];
  }
  return (await accounts.listUsers()).sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

/** The bytes of every object a verify job covers: a pass over the metadata, which costs little beside reading the data. */
async function bytesInScope(store: ObjectStore, users: UserRecord[]): Promise<number> {
  let total = 0;
  for (const user of users) {
    let after: string | undefined;
    for (;;) {
      const page = await store.listObjects(user.uid, { after, limit: 1000 });
      for (const meta of page) total += meta.size;
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
  }
  return total;
}

export function verifyJob(objects: ObjectService, accounts: AccountStore): JobHandler {
  const store = objects.store;
  return async (ctx) => {
    const damage = DamageReport.fromJson(ctx.job.result);
    const saved = ctx.job.cursor ? (JSON.parse(ctx.job.cursor) as Cursor) : null;
    const users = await verifyScope(accounts, ctx.job.target);
    let done = ctx.job.done;
    /** Bytes of the objects verified so far; `reading` is the part read of the one under way. */
    let bytes = saved?.bytes ?? 0;
    let reading = 0;
    const savedTotal = ctx.job.result ? (JSON.parse(ctx.job.result) as ByteProgress).bytesTotal : undefined;
    const bytesTotal = savedTotal ?? (await bytesInScope(store, users));
    let cursor: Cursor | null = saved;
    const result = (more: Record<string, number> = {}) => {
      const bytesDone = bytes + reading;
      return JSON.stringify({
        ...damage.toJSON(),
        bytesDone,
        bytesTotal: Math.max(bytesTotal, bytesDone),
        ...more,
      });
    };
    let lastSave = Date.now();
    const save = async () => {
      lastSave = Date.now();
      await ctx.checkpoint({
        done,
        total: Math.max(ctx.job.total, done),
        cursor: cursor ? JSON.stringify(cursor) : null,
        result: result(),
      });
    };
    // Progress inside a large object: the byte count moves while the object count cannot.
    const onBytes = async (n: number) => {
      reading += n;
      if (Date.now() - lastSave >= CHECKPOINT_MS) await save();
    };
    for (const user of users) {
      if (saved && user.uid < saved.owner) continue;
      let after = saved && user.uid === saved.owner ? saved.after : null;
      for (;;) {
        const page = await store.listObjects(user.uid, { after: after ?? undefined, limit: PAGE });
        if (page.length === 0) break;
        for (const meta of page) {
          const err = await readThrough(objects, meta, ctx, onBytes);
          if (err !== null && (await stillStored(store, meta))) damage.add(user.name, meta.id, err);
          done++;
          bytes += meta.size;
          reading = 0;
          after = meta.id;
          cursor = { owner: user.uid, after, bytes };
          if (Date.now() - lastSave >= CHECKPOINT_MS) await save();
        }
        await save();
      }
    }
    // Every user's objects were read: blob files that none of them names are garbage worth reporting.
    const orphans = ctx.job.target === null ? await store.orphanedBlobs() : null;
    const found: Record<string, number> = orphans
      ? { orphanedBlobs: orphans.count, orphanedBlobBytes: orphans.bytes }
      : {};
    return { done, total: Math.max(ctx.job.total, done), result: result(found) };
  };
}

/** Reads the whole object, authenticating every segment; the error, or null when it is sound. */
async function readThrough(
  objects: ObjectService,
  meta: ObjectMeta,
  ctx: JobContext,
  onBytes: (n: number) => Promise<void>,
): Promise<unknown> {
  /** Saving progress failed: that is the job's trouble, never the object's. */
  let progressFailed = false;
  try {
    const stream = await objects.read(meta, null);
    let n = 0;
    try {
      for await (const chunk of stream) {
        if (++n % SEGMENTS_PER_YIELD === 0) await yieldToEventLoop();
        if (ctx.signal.aborted) throw new JobInterrupted();
        progressFailed = true;
        await onBytes((chunk as Buffer).length);
        progressFailed = false;
      }
    } finally {
      stream.destroy();
    }
    return null;
  } catch (err) {
    // An outage says nothing about the object: the job fails (or stops) instead of blaming it.
    if (
      progressFailed ||
      err instanceof JobInterrupted ||
      err instanceof StorageUnavailableError ||
      err instanceof KeyProviderError
    )
      throw err;
    return err;
  }
}

/** A write replaced or deleted while it was read is not damage: its segments went to the reclaimer. */
async function stillStored(store: ObjectStore, meta: ObjectMeta): Promise<boolean> {
  const now = await store.getObject(meta.owner, meta.id);
  return now?.writeId.equals(meta.writeId) ?? false;
}
