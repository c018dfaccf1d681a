// Root-key rotation: a new root version, every KEK version rewrapped under it, then the old root
// versions retired. Safe across a crash (the job resumes; KEKs under either version keep working
// until all are moved) and alongside requests (a KEK created under the old root during the
// rotation moves itself: KeyService.withNewKek).
import { setTimeout as sleep } from "node:timers/promises";
import { AppError, IntegrityError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { KeyStore } from "../store/key-store.js";
import type { KekRewrap } from "../store/records.js";
import { type JobHandler, JobInterrupted } from "./job-runner.js";

export const ROOT_ROTATE = "root-rotate";
const PAGE = 100;

interface Cursor {
  /** The root version this job created. */
  rootVersion: number;
  /** When it was created (ms since the epoch): the start of the grace period. */
  rotatedAt: number;
}

export interface RootRotationOptions {
  /**
   * How long other processes may go on wrapping under an old root version after a rotation (their
   * provider rereads the key ring now and then); old versions are retired only after it.
   * 0 when one process owns the store.
   */
  retireGraceMs: number;
}

export function rootRotationJob(keys: KeyService, keyStore: KeyStore, opts: RootRotationOptions): JobHandler {
  const root = keys.root;
  return async (ctx) => {
    let cursor = ctx.job.cursor ? (JSON.parse(ctx.job.cursor) as Cursor) : null;
    let done = ctx.job.done;
    let total = ctx.job.total;
    if (!cursor) {
      // A crash right after rotate() leaves an unused version behind; the retire step removes it.
      cursor = { rootVersion: await root.rotate(), rotatedAt: Date.now() };
      total = await keyStore.countKekVersionsNotWrappedBy(cursor.rootVersion);
      await ctx.checkpoint({ cursor: JSON.stringify(cursor), total, done: 0 });
    }
    for (;;) {
      // Another rotation may have made a newer version primary meanwhile: converge on it.
      const primary = root.primaryVersion();
      const page = await keyStore.kekVersionsNotWrappedBy(primary, PAGE);
      if (page.length === 0) {
        const wait = cursor.rotatedAt + opts.retireGraceMs - Date.now();
        if (wait <= 0) break;
        await sleep(Math.min(wait, 1000), undefined, { signal: ctx.signal }).catch(() => {
          throw new JobInterrupted();
        });
        await ctx.checkpoint({});
        continue;
      }
      // Each version rewrapped by the provider, then the page stored in one transaction: one
      // fsync per page, not one per version.
      const rewraps: KekRewrap[] = [];
      for (const rec of page) {
        try {
          rewraps.push(await keys.rewrapUnderRoot(rec));
        } catch (err) {
          if (!(err instanceof IntegrityError)) throw err;
          // Retiring the old root would not make it worse, but keep it so the cause can be examined.
          throw new AppError(
            "integrity_error",
            `key version ${rec.version} of user ${rec.owner} failed authentication under root version ${rec.rootVersion}; the old root versions were kept`,
          );
        }
      }
      await keyStore.rewrapKekVersions(rewraps);
      done += page.length;
      total = Math.max(total, done);
      await ctx.checkpoint({ done, total });
    }
    const primary = root.primaryVersion();
    const retired: number[] = [];
    for (const v of root.versions()) {
      if (v === primary) continue;
      // Checked again before each: nothing may still be wrapped by what is about to go.
      if ((await keyStore.countKekVersionsNotWrappedBy(primary)) > 0) throw new JobInterrupted();
      try {
        await root.retire(v);
        retired.push(v);
      } catch (err) {
        // Retired meanwhile by a concurrent rotation.
        if (!(err instanceof AppError && err.code === "not_found")) throw err;
      }
    }
    return { done, total, result: JSON.stringify({ rootVersion: primary, retired }) };
  };
}
