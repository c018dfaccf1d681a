// /admin/audit, /me/audit and /admin/audit/public-key: reading the audit log (docs/AUDIT.md).
import { type Static, Type } from "typebox";
import { Nullable } from "./fields.js";

export const AUDIT_PAGE_LIMIT = 1000;

/** The filters and the page of an audit listing; /me/audit ignores actor and target. */
export const AuditQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ description: "ISO 8601 time: events at or after it" })),
    until: Type.Optional(Type.String({ description: "ISO 8601 time: events before it" })),
    actor: Type.Optional(Type.String({ description: "a user name (or the uid of a deleted user)" })),
    action: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'an action ("object.write") or a prefix ending in "." ("key.")',
      }),
    ),
    target: Type.Optional(
      Type.String({ description: "the owner of what was acted on: a user name (or uid)" }),
    ),
    after: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,15}$", description: "the `next` of the previous page" }),
    ),
    limit: Type.Optional(
      Type.String({
        pattern: "^[0-9]{1,5}$",
        description: `at most this many events (default 100, at most ${AUDIT_PAGE_LIMIT})`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

/** One event: its record's body as docs/AUDIT.md describes it, with the record's hash. */
export const AuditEvent = Type.Object(
  {
    seq: Type.Optional(Type.Integer()),
    hash: Type.Optional(Type.String()),
    action: Type.Optional(Type.String()),
  },
  { description: "the record's body (docs/AUDIT.md), with its hash", additionalProperties: true },
);
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditPage = Type.Object({
  events: Type.Array(AuditEvent),
  next: Nullable(Type.String(), { description: "pass as `after` for the next page; null when none" }),
});
export type AuditPage = Static<typeof AuditPage>;

export const AuditPublicKey = Type.Object({
  algorithm: Type.String(),
  publicKey: Type.String({
    description: "ed25519:<base64>: save it for `ssestore audit verify --public-key`",
  }),
  keyId: Type.String(),
});
export type AuditPublicKey = Static<typeof AuditPublicKey>;
