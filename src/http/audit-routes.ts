// Reading the audit log: GET /admin/audit (admins: every event, filtered), GET /me/audit (what was
// done by or to the caller, admins' actions included), GET /admin/audit/public-key (the key that
// verifies checkpoints offline).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AUDIT_PAGE_LIMIT, AuditPage, AuditPublicKey, AuditQuery } from "../api/audit.js";
import { formatPublicKey } from "../audit/audit-keys.js";
import type { AuditLog } from "../audit/audit-log.js";
import { parseBody, type SealedRecord } from "../audit/record.js";
import type { UserService } from "../auth/user-service.js";
import { AppError } from "../errors.js";
import type { AuditFilter } from "../store/audit-store.js";
import { adminOnly } from "./account-route-helpers.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new AppError("bad_request", `${name} must be an ISO 8601 time`);
  return t;
}

function page(records: SealedRecord[], limit: number): AuditPage {
  const events = records.map((r) => ({ ...parseBody(r.body), hash: r.hash }));
  const last = records.at(-1);
  return { events, next: records.length === limit && last ? String(last.seq) : null };
}

export interface AuditRoutesOptions {
  audit: AuditLog;
  users: UserService;
}

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, opts) => {
  const { audit, users } = opts;
  /** A user's uid by name; an unknown name may be the uid of a deleted user. */
  const uidOf = (name: string) =>
    users.get(name).then(
      (u) => u.uid,
      () => name,
    );

  const filterOf = async (q: AuditQuery): Promise<AuditFilter> => {
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (limit < 1 || limit > AUDIT_PAGE_LIMIT)
      throw new AppError("bad_request", `limit must be 1 to ${AUDIT_PAGE_LIMIT}`);
    return {
      limit,
      ...(q.after !== undefined ? { afterSeq: Number(q.after) } : {}),
      ...(q.since !== undefined ? { since: time(q.since, "since") } : {}),
      ...(q.until !== undefined ? { until: time(q.until, "until") } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.actor !== undefined ? { actor: await uidOf(q.actor) } : {}),
      ...(q.target !== undefined ? { owner: await uidOf(q.target) } : {}),
    };
  };

  app.get(
    "/admin/audit",
    {
      config: adminOnly("read"),
      schema: {
        tags: ["audit"],
        summary: "The audit log (admin), filtered and paged",
        querystring: AuditQuery,
        response: { 200: AuditPage, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const f = await filterOf(req.query);
      return page(await audit.find(f), f.limit);
    },
  );

  app.get(
    "/me/audit",
    {
      config: { auth: { scope: "read" } },
      schema: {
        tags: ["audit"],
        summary: "What was done by the caller or to its account and data, admins' actions included",
        querystring: AuditQuery,
        response: { 200: AuditPage, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const f = await filterOf({ ...req.query, actor: undefined, target: undefined });
      return page(await audit.find({ ...f, involving: principalOf(req).user.uid }), f.limit);
    },
  );

  app.get(
    "/admin/audit/public-key",
    {
      config: adminOnly("read"),
      schema: {
        tags: ["audit"],
        summary: "The Ed25519 public key that verifies the audit checkpoints",
        response: {
          200: AuditPublicKey,
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async (): Promise<AuditPublicKey> => ({
      algorithm: "Ed25519",
      publicKey: formatPublicKey(audit.publicKey),
      keyId: audit.keyId,
    }),
  );
};
