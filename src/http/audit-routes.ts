// Reading the audit log: GET /admin/audit (admins: every event, filtered), GET /me/audit (what was
// done by or to the caller, admins' actions included), GET /admin/audit/public-key (the key that
// verifies checkpoints offline).
import type { FastifyInstance } from "fastify";
import { formatPublicKey } from "../audit/audit-keys.js";
import type { AuditLog } from "../audit/audit-log.js";
import { parseBody, type SealedRecord } from "../audit/record.js";
import type { UserService } from "../auth/user-service.js";
import { AppError } from "../errors.js";
import type { AuditFilter } from "../store/audit-store.js";
import { adminOnly } from "./account-route-helpers.js";
import { principalOf } from "./auth-plugin.js";
import { problemResponses } from "./openapi.js";

const MAX_LIMIT = 1000;

const querySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    since: { type: "string", description: "ISO 8601 time: events at or after it" },
    until: { type: "string", description: "ISO 8601 time: events before it" },
    actor: { type: "string", description: "a user name (or the uid of a deleted user)" },
    action: {
      type: "string",
      maxLength: 64,
      description: 'an action ("object.write") or a prefix ending in "." ("key.")',
    },
    target: { type: "string", description: "the owner of what was acted on: a user name (or uid)" },
    after: { type: "string", pattern: "^[0-9]{1,15}$", description: "the `next` of the previous page" },
    limit: {
      type: "string",
      pattern: "^[0-9]{1,5}$",
      description: `at most this many events (default 100, at most ${MAX_LIMIT})`,
    },
  },
};

const pageSchema = {
  type: "object",
  required: ["events", "next"],
  properties: {
    events: {
      type: "array",
      items: {
        type: "object",
        description: "the record's body (docs/AUDIT.md), with its hash",
        additionalProperties: true,
        properties: { seq: { type: "integer" }, hash: { type: "string" }, action: { type: "string" } },
      },
    },
    next: { type: ["string", "null"], description: "pass as `after` for the next page; null when none" },
  },
};

type Query = Partial<Record<"since" | "until" | "actor" | "action" | "target" | "after" | "limit", string>>;

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new AppError("bad_request", `${name} must be an ISO 8601 time`);
  return t;
}

function page(records: SealedRecord[], limit: number) {
  const events = records.map((r) => ({ ...parseBody(r.body), hash: r.hash }));
  const last = records.at(-1);
  return { events, next: records.length === limit && last ? String(last.seq) : null };
}

export interface AuditRoutesOptions {
  audit: AuditLog;
  users: UserService;
}

export async function auditRoutes(app: FastifyInstance, opts: AuditRoutesOptions): Promise<void> {
  const { audit, users } = opts;
  /** A user's uid by name; an unknown name may be the uid of a deleted user. */
  const uidOf = (name: string) =>
    users.get(name).then(
      (u) => u.uid,
      () => name,
    );

  const filterOf = async (q: Query): Promise<AuditFilter> => {
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (limit < 1 || limit > MAX_LIMIT) throw new AppError("bad_request", `limit must be 1 to ${MAX_LIMIT}`);
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
        querystring: querySchema,
        response: { 200: pageSchema, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const f = await filterOf(req.query as Query);
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
        querystring: querySchema,
        response: { 200: pageSchema, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const q = req.query as Query;
      const f = await filterOf({ ...q, actor: undefined, target: undefined });
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
          200: {
            type: "object",
            required: ["algorithm", "publicKey", "keyId"],
            properties: {
              algorithm: { type: "string" },
              publicKey: {
                type: "string",
                description: "ed25519:<base64>: save it for `ssestore audit verify --public-key`",
              },
              keyId: { type: "string" },
            },
          },
          ...problemResponses(401, 403, 429),
        },
      },
    },
    async () => ({ algorithm: "Ed25519", publicKey: formatPublicKey(audit.publicKey), keyId: audit.keyId }),
  );
}
