// Rewrap: every data key of one user moved to the user's primary KEK version, a batch of objects per
// durable transaction, without touching the data; then the secrets of the user's S3 access keys.
// The cursor is the last object id handled; a batch applied but not yet checkpointed is simply
// found already moved on resume.
import { accessKeyContext } from "../crypto/envelope.js";
import { AppError } from "../errors.js";
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
    await rewrapAccessKeys(keys, accounts, owner, (id, err) => damage.add(name, `access key ${id}`, err));
    return { done, total: Math.max(ctx.job.total, done), result: result() };
  };
}

/**
 * The secrets of the owner's access keys moved to the primary version (a user has few; they are
 * not counted in done/total, which count objects). One that cannot be unwrapped is reported.
 */
async function rewrapAccessKeys(
  keys: KeyService,
  accounts: AccountStore,
  owner: string,
  damaged: (id: string, err: AppError) => void,
): Promise<void> {
  const { primaryVersion } = await keys.state(owner, true);
  for (const k of await accounts.listAccessKeys(owner)) {
    if (k.kekVersion === primaryVersion) continue;
    let wrapped: Buffer;
    try {
      wrapped = await keys.rewrapKey(
        owner,
        k.kekVersion,
        k.wrappedSecret,
        accessKeyContext(owner, k.id),
        primaryVersion,
      );
    } catch (err) {
      // A destroyed version or a damaged blob is this key's alone; any other failure stops the job.
      if (!(err instanceof AppError && (err.code === "key_destroyed" || err.code === "integrity_error")))
        throw err;
      damaged(k.id, err);
      continue;
    }
    // False when the key was revoked meanwhile: nothing left to move.
    await accounts.updateAccessKeySecret(owner, k.id, primaryVersion, wrapped);
  }
}
