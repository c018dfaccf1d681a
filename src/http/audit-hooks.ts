// Records the native API's security-relevant requests in the audit log. Each audited route gets
// its action from ACTIONS (by method and URL, in one table). A change writes its intent before it
// runs (refused with 503 audit_unavailable when that fails and the log is required, so nothing
// changes), and its outcome once the answer is known; a read (SSE_AUDIT_READS) writes its event
// before its answer goes out. Failed authentications are recorded by the auth plugin's callback.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { type AuditLog, auditUnavailable } from "../audit/audit-log.js";
import type { EventDraft, Outcome, Target } from "../audit/record.js";
import type { UserService } from "../auth/user-service.js";
import { AppError } from "../errors.js";
import { problemAnswer } from "./problem.js";
import { withdrawAnswer } from "./withdrawn-answer.js";

interface AuditedRoute {
  action: string;
  /** A read: recorded only with SSE_AUDIT_READS, in one event. */
  read?: boolean;
}

/** The audited routes, by `METHOD url` as they are registered. */
export const ACTIONS: Readonly<Record<string, AuditedRoute>> = {
  "POST /data": { action: "object.write" },
  "PUT /data/*": { action: "object.write" },
  "DELETE /data/*": { action: "object.delete" },
  "GET /data/*": { action: "object.read", read: true },
  "POST /data/*": { action: "link.create" },
  "GET /links/*": { action: "link.download", read: true },
  "POST /users": { action: "user.create" },
  "DELETE /users/:name": { action: "user.delete" },
  "POST /users/:name/reset": { action: "user.reset" },
  "POST /users/:name/tokens": { action: "token.issue" },
  "DELETE /users/:name/tokens/:id": { action: "token.revoke" },
  "POST /users/:name/access-keys": { action: "access_key.issue" },
  "DELETE /users/:name/access-keys/:accessKeyId": { action: "access_key.revoke" },
  "POST /keys/rotate": { action: "key.rotate" },
  "POST /users/:name/key/rotate": { action: "key.rotate" },
  "POST /keys/rewrap": { action: "key.rewrap" },
  "POST /users/:name/key/rewrap": { action: "key.rewrap" },
  "POST /keys/min-decryption-version": { action: "key.min_version" },
  "POST /users/:name/key/min-decryption-version": { action: "key.min_version" },
  "POST /admin/root-key/rotate": { action: "root_key.rotate" },
};

/** What an audited request has gathered for its events. */
interface AuditNote {
  route: AuditedRoute;
  target: Target;
  keyVersion?: number;
  /** The intent was written: the outcome follows it. */
  intent: boolean;
}

declare module "fastify" {
  interface FastifyContextConfig {
    audited?: AuditedRoute;
  }
  interface FastifyRequest {
    auditNote: AuditNote | null;
  }
}

/** Names the owner and object a route found (a link's), for its event. */
export function noteAuditTarget(
  req: FastifyRequest,
  owner: string,
  objectRef?: string,
  keyVersion?: number,
): void {
  const note = req.auditNote;
  if (!note) return;
  note.target = { ...note.target, owner, ...(objectRef ? { object: objectRef } : {}) };
  if (keyVersion !== undefined) note.keyVersion = keyVersion;
}

function outcomeOf(status: number): Outcome {
  if (status < 400) return "ok";
  if (status === 401 || status === 403 || status === 429) return "denied";
  return "failed";
}

/** Identifiers an answer names (never a secret: `token` and `secretAccessKey` are not read). */
function fromAnswer(payload: unknown): { id?: string; keyVersion?: number; objectId?: string } {
  if (typeof payload !== "string" || payload.length > 65536 || payload[0] !== "{") return {};
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return {};
  }
  const out: { id?: string; keyVersion?: number; objectId?: string } = {};
  for (const k of ["accessKeyId", "jobId"] as const)
    if (typeof body[k] === "string") out.id = body[k] as string;
  const token = body.token as { id?: unknown } | undefined;
  if (typeof body.id === "string" && (typeof body.token === "string" || "issuedBy" in body)) out.id = body.id;
  else if (typeof token?.id === "string") out.id = token.id;
  else if (typeof body.id === "string" || typeof body.id === "number") out.objectId = String(body.id);
  for (const k of ["keyVersion", "version", "primaryVersion"] as const)
    if (Number.isSafeInteger(body[k])) {
      out.keyVersion = body[k] as number;
      break;
    }
  return out;
}

export interface AuditHooksOptions {
  audit: AuditLog;
  users: UserService;
}

export const auditHooks = fp(async (app: FastifyInstance, opts: AuditHooksOptions) => {
  const { audit, users } = opts;
  app.decorateRequest("auditNote", null);

  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      const found = ACTIONS[`${m} ${route.url}`];
      if (found) route.config = { ...(route.config ?? {}), audited: found };
    }
  });

  const uidOf = async (name: unknown): Promise<string | undefined> => {
    if (typeof name !== "string") return undefined;
    return users.get(name).then(
      (u) => u.uid,
      () => undefined,
    );
  };

  const draft = (req: FastifyRequest, note: AuditNote, outcome: Outcome, status?: number): EventDraft => {
    const p = req.principal;
    return {
      action: note.route.action,
      outcome,
      ...(status !== undefined ? { status } : {}),
      api: "native",
      client: req.ip,
      requestId: req.id,
      ...(p
        ? {
            actor: {
              uid: p.user.uid,
              credential: p.token.id,
              ...(p.token.issuedBy ? { issuedBy: p.token.issuedBy } : {}),
            },
          }
        : {}),
      target: note.target,
      ...(note.keyVersion !== undefined ? { keyVersion: note.keyVersion } : {}),
    };
  };

  // After authentication and body parsing, before the handler: who and what, and the intent.
  app.addHook("preHandler", async (req) => {
    const route = req.routeOptions.config?.audited;
    if (!route || (route.read && !audit.opts.reads)) return;
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    const target: Target = {};
    if (params.name !== undefined) {
      const uid = await uidOf(params.name);
      if (uid) target.owner = uid;
    } else if (req.principal && /^\/(data|keys)(\/|$|\?)/.test(req.url)) {
      target.owner = req.principal.user.uid;
    }
    const star = params["*"];
    if (star !== undefined && req.url.startsWith("/data/")) target.object = audit.objectRef(star);
    const id = params.id ?? params.accessKeyId;
    if (id !== undefined) target.id = id;
    const note: AuditNote = { route, target, intent: false };
    req.auditNote = note;
    if (route.read) return;
    // Hardened by the action's own durable commit, or by the outcome event after it.
    await audit.record(draft(req, note, "pending"), { relaxed: true });
    note.intent = true;
  });

  // The outcome, before the answer leaves; a read whose event cannot be written is refused.
  app.addHook("onSend", async (req: FastifyRequest, reply: FastifyReply, payload) => {
    const route = req.routeOptions.config?.audited;
    if (!route || (route.read && !audit.opts.reads)) return payload;
    const note: AuditNote = req.auditNote ?? { route, target: {}, intent: false };
    if (!req.auditNote && req.principal && /^\/(data|keys)(\/|$|\?)/.test(req.url))
      note.target = { owner: req.principal.user.uid };
    const status = reply.statusCode;
    if (status < 400) {
      const got = fromAnswer(payload);
      if (got.id !== undefined) note.target = { ...note.target, id: got.id };
      if (got.objectId !== undefined && route.action === "object.write")
        note.target = { ...note.target, object: audit.objectRef(got.objectId) };
      if (got.keyVersion !== undefined) note.keyVersion = got.keyVersion;
      // A read's answer is the object itself: its key version is in a header.
      const served = Number(reply.getHeader("x-key-version"));
      if (note.keyVersion === undefined && Number.isSafeInteger(served) && served > 0)
        note.keyVersion = served;
      if (route.action === "user.create" && note.target.owner === undefined) {
        const uid = await uidOf((req.body as { name?: unknown } | undefined)?.name);
        if (uid) note.target = { ...note.target, owner: uid };
      }
    }
    if (route.read && status >= 400 && status !== 404 && status !== 403 && status !== 410) return payload;
    try {
      await audit.record(draft(req, note, outcomeOf(status), status));
    } catch (err) {
      // The change is done and its intent is in the log (the failure is logged); only a read can still be refused.
      if (route.read) {
        withdrawAnswer(reply, payload);
        return problemAnswer(reply, err instanceof AppError ? err : auditUnavailable(err));
      }
    }
    return payload;
  });
});
