// Rewrap: every data key of one user moved to the user's primary KEK version, a batch of objects per
// durable transaction, without touching the data. The cursor is the last object id handled; a
// batch applied but not yet checkpointed is simply found already moved on resume.
import type { KeyService } from "../keys/key-service.js";
import type { AccountStore } from "../store/account-store.js";
import type { ObjectStore } from "../store/object-store.js";
import { DamageReport } from "./damage-report.js";
import type { JobHandler } from "./job-runner.js";

export const REWRAP = "rewrap";
/** Objects per transaction: large enough that the fsync is amortised, small enough to keep requests flowing. */
export const REWRAP_BATCH = 1000;

export function rewrapJob(
  keys: KeyService,
  objects: ObjectStore,
  accounts: AccountStore,
  batch = REWRAP_BATCH,
): JobHandler {
  return async (ctx) => {
    const owner = ctx.job.target;
    if (!owner) throw new Error("a rewrap job needs a target user");
    const name = (await accounts.getUserByUid(owner))?.name ?? owner;
    const damage = DamageReport.fromJson(ctx.job.result);
    let after = ctx.job.cursor;
    let done = ctx.job.done;
    const result = () => JSON.stringify(damage);
    for (;;) {
      const page = await objects.objectKeyInfo(owner, after, batch);
      if (page.length === 0) break;
      // Read per batch: a rotation while the job runs moves the rest to the newer primary.
      const { primaryVersion } = await keys.state(owner, true);
      const out = await keys.rewrapDeks(owner, page, primaryVersion);
      await objects.updateWrappedDeks(owner, out.updates);
      for (const f of out.failed) damage.add(name, f.id, f.error);
      after = page[page.length - 1]!.id;
      done += page.length;
      await ctx.checkpoint({ done, total: Math.max(ctx.job.total, done), cursor: after, result: result() });
    }
    return { done, total: Math.max(ctx.job.total, done), result: result() };
  };
}
