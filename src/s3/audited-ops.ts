// The S3 operations that change data (and reads, with SSE_AUDIT_READS) recorded in the audit log,
// as the native API's are (http/audit-hooks.ts): a change's intent before it runs (refused with
// 503 ServiceUnavailable when the log is required and cannot be written), and its outcome in the
// listener's onSend hook, once the answer is known and before any of it leaves. So an answer a
// client received has its outcome in the log, and a read whose event cannot be written is refused
// before a byte of the object is sent.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AuditLog } from "../audit/audit-log.js";
import type { EventDraft, Outcome } from "../audit/record.js";
import { withdrawAnswer } from "../http/withdrawn-answer.js";
import type { S3Context } from "./context.js";
import type { S3Handler, S3Operations } from "./router.js";

interface AuditedOp {
  action: string;
  read?: boolean;
  /** What is read is the copy source (UploadPartCopy), not the object the request addresses. */
  ofSource?: boolean;
}

const S3_ACTIONS: Partial<Record<keyof S3Operations, AuditedOp>> = {
  createBucket: { action: "bucket.create" },
  deleteBucket: { action: "bucket.delete" },
  putObject: { action: "object.write" },
  copyObject: { action: "object.copy" },
  deleteObject: { action: "object.delete" },
  deleteObjects: { action: "object.delete" },
  completeMultipartUpload: { action: "multipart.complete" },
  getObject: { action: "object.read", read: true },
  // A part copied from an object reads that object, as a GetObject of it would; the part itself is
  // recorded with the upload's completion.
  uploadPartCopy: { action: "object.read", read: true, ofSource: true },
};

function outcomeOf(status: number): Outcome {
  if (status < 400) return "ok";
  return status === 403 ? "denied" : "failed";
}

/** An audited request between its intent and its outcome. */
interface InFlight {
  op: AuditedOp;
  ctx: S3Context;
  /** The outcome was recorded (or tried): an error answer that replaces a refused one adds none. */
  done: boolean;
}

export interface AuditedS3 {
  ops: S3Operations;
  /** The S3 listener's onSend hook: writes the outcomes of the answer about to leave. */
  beforeSend(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

export function auditedS3Operations(ops: S3Operations, audit: AuditLog): AuditedS3 {
  const inFlight = new WeakMap<FastifyRequest, InFlight>();

  const draft = (f: InFlight, outcome: Outcome, status?: number, objectId?: string): EventDraft => {
    const { ctx } = f;
    const { bucket, key } = ctx.address;
    const note = ctx.audit;
    const addressed = bucket === null ? null : key === null ? bucket : `${bucket}/${key}`;
    const named = objectId ?? (f.op.ofSource ? (note.source ?? null) : addressed);
    return {
      action: f.op.action,
      outcome,
      ...(status !== undefined ? { status } : {}),
      api: "s3",
      client: ctx.req.ip,
      requestId: ctx.requestId,
      actor: { uid: ctx.caller.user.uid, credential: ctx.caller.accessKeyId },
      target: {
        owner: ctx.owner,
        ...(named !== null ? { object: audit.objectRef(named) } : {}),
        ...(note.source !== undefined && !f.op.ofSource ? { source: audit.objectRef(note.source) } : {}),
      },
      ...(note.keyVersion !== undefined && outcome !== "pending" ? { keyVersion: note.keyVersion } : {}),
    };
  };

  /** One outcome per object a DeleteObjects named, else one for the request; one durable commit. */
  const outcomes = (f: InFlight, status: number): EventDraft[] => {
    const objects = f.ctx.audit.objects ?? [];
    const drafts = objects.map((o) => draft(f, outcomeOf(o.status), o.status, o.id));
    if (drafts.length === 0 || status >= 300) drafts.push(draft(f, outcomeOf(status), status));
    return drafts;
  };

  const out = { ...ops };
  for (const [name, op] of Object.entries(S3_ACTIONS) as [keyof S3Operations, AuditedOp][]) {
    const handler: S3Handler = ops[name];
    out[name] = async (ctx: S3Context) => {
      if (op.read && !audit.opts.reads) return handler(ctx);
      const f: InFlight = { op, ctx, done: false };
      inFlight.set(ctx.req, f);
      // Hardened by the action's own durable commit, or by the outcome after it.
      if (!op.read) await audit.record(draft(f, "pending"), { relaxed: true });
      // A copy's read is recorded before it happens: the copied part would outlive a refused answer.
      if (op.ofSource)
        ctx.audit.beforeSourceRead = async () => {
          await audit.record(draft(f, "pending"), { relaxed: true });
        };
      return handler(ctx);
    };
  }

  const beforeSend = async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const f = inFlight.get(req);
    if (!f || f.done) return payload;
    f.done = true;
    const drafts = outcomes(f, reply.statusCode);
    try {
      for (const [i, d] of drafts.entries()) await audit.record(d, { relaxed: i < drafts.length - 1 });
    } catch (err) {
      // A change is done and its intent is in the log (the audit log reports the failure); a read is
      // not done yet: it is refused.
      if (!f.op.read) return payload;
      withdrawAnswer(reply, payload);
      throw err;
    }
    return payload;
  };

  return { ops: out, beforeSend };
}
