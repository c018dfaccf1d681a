// Verify: reads and authenticates every object (of every user, or of one), segment by segment, and
// lists each one that fails. The cursor is (owner uid, last object id); users go in uid order.
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
}

/** The users a verify job covers: one (target uid) or all, in uid order. */
export async function verifyScope(accounts: AccountStore, target: string | null): Promise<UserRecord[]> {
  if (target) {
    const u = await accounts.getUserByUid(target);
    return u ? [u] : [];
  }
  return (await accounts.listUsers()).sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

export function verifyJob(objects: ObjectService, accounts: AccountStore): JobHandler {
  const store = objects.store;
  return async (ctx) => {
    const damage = DamageReport.fromJson(ctx.job.result);
    const saved = ctx.job.cursor ? (JSON.parse(ctx.job.cursor) as Cursor) : null;
    let done = ctx.job.done;
    let lastSave = Date.now();
    const save = async (cursor: Cursor) => {
      lastSave = Date.now();
      await ctx.checkpoint({
        done,
        total: Math.max(ctx.job.total, done),
        cursor: JSON.stringify(cursor),
        result: JSON.stringify(damage),
      });
    };
    for (const user of await verifyScope(accounts, ctx.job.target)) {
      if (saved && user.uid < saved.owner) continue;
      let after = saved && user.uid === saved.owner ? saved.after : null;
      for (;;) {
        const page = await store.listObjects(user.uid, { after: after ?? undefined, limit: PAGE });
        if (page.length === 0) break;
        for (const meta of page) {
          const err = await readThrough(objects, meta, ctx);
          if (err !== null && (await stillStored(store, meta))) damage.add(user.name, meta.id, err);
          done++;
          after = meta.id;
          if (Date.now() - lastSave >= CHECKPOINT_MS) await save({ owner: user.uid, after });
        }
        await save({ owner: user.uid, after });
      }
    }
    return { done, total: Math.max(ctx.job.total, done), result: JSON.stringify(damage) };
  };
}

/** Reads the whole object, authenticating every segment; the error, or null when it is sound. */
async function readThrough(objects: ObjectService, meta: ObjectMeta, ctx: JobContext): Promise<unknown> {
  try {
    const stream = await objects.read(meta, null);
    let n = 0;
    try {
      for await (const _ of stream) {
        if (++n % SEGMENTS_PER_YIELD === 0) await yieldToEventLoop();
        if (ctx.signal.aborted) throw new JobInterrupted();
      }
    } finally {
      stream.destroy();
    }
    return null;
  } catch (err) {
    // An outage says nothing about the object: the job fails (or stops) instead of blaming it.
    if (
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
