// The S3 operations that change data (and reads, with SSE_AUDIT_READS) recorded in the audit log,
// as the native API's are (http/audit-hooks.ts): a change's intent before it runs (refused with
// 503 ServiceUnavailable when the log is required and cannot be written), its outcome after.
import type { AuditLog } from "../audit/audit-log.js";
import type { EventDraft, Outcome } from "../audit/record.js";
import type { S3Context } from "./context.js";
import { toS3Error } from "./error-map.js";
import type { S3Handler, S3Operations } from "./router.js";

const S3_ACTIONS: Partial<Record<keyof S3Operations, { action: string; read?: boolean }>> = {
  createBucket: { action: "bucket.create" },
  deleteBucket: { action: "bucket.delete" },
  putObject: { action: "object.write" },
  copyObject: { action: "object.copy" },
  deleteObject: { action: "object.delete" },
  deleteObjects: { action: "object.delete" },
  completeMultipartUpload: { action: "multipart.complete" },
  getObject: { action: "object.read", read: true },
};

function outcomeOf(status: number): Outcome {
  if (status < 400) return "ok";
  return status === 403 ? "denied" : "failed";
}

export function auditedS3Operations(ops: S3Operations, audit: AuditLog): S3Operations {
  const out = { ...ops };
  for (const [name, route] of Object.entries(S3_ACTIONS) as [
    keyof S3Operations,
    { action: string; read?: boolean },
  ][]) {
    const handler: S3Handler = ops[name];
    out[name] = async (ctx: S3Context) => {
      if (route.read && !audit.opts.reads) return handler(ctx);
      const { bucket, key } = ctx.address;
      const base = (outcome: Outcome, status?: number): EventDraft => ({
        action: route.action,
        outcome,
        ...(status !== undefined ? { status } : {}),
        api: "s3",
        client: ctx.req.ip,
        requestId: ctx.requestId,
        actor: {
          uid: ctx.caller.user.uid,
          credential: ctx.caller.accessKeyId,
        },
        target: {
          owner: ctx.owner,
          ...(bucket !== null ? { object: audit.objectRef(key !== null ? `${bucket}/${key}` : bucket) } : {}),
        },
      });
      if (!route.read) await audit.record(base("pending"), { relaxed: true });
      let result: unknown;
      try {
        result = await handler(ctx);
      } catch (err) {
        const status = toS3Error(err)?.status ?? 500;
        await audit.record(base(outcomeOf(status), status)).catch(() => undefined);
        throw err;
      }
      const status = ctx.reply.statusCode;
      try {
        await audit.record(base(outcomeOf(status), status));
      } catch (err) {
        // The change is done and its intent is in the log (the failure is logged by the audit log).
        if (route.read) throw err;
      }
      return result;
    };
  }
  return out;
}
