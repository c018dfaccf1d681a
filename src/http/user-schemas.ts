// JSON shapes of users and tokens as the API shows them (never a secret but the one new token).
import type { Principal } from "../auth/principal.js";
import { MAX_LABEL_LENGTH, MAX_TOKEN_LIFETIME_SECONDS } from "../auth/token-grant.js";
import type { TokenRecord, UserRecord } from "../store/records.js";

export const dateTime = { type: "string", format: "date-time" } as const;
export const nullableDateTime = { type: ["string", "null"], format: "date-time" } as const;
export const issuedBy = {
  type: ["string", "null"],
  description:
    "Who issued it: a user name, `reset` (an admin's reset of the user), `bootstrap` (the first start's admin token); null for tokens issued before this was recorded",
} as const;
export const scopes = { type: "array", items: { type: "string", enum: ["read", "write"] } } as const;

export const userSchema = {
  type: "object",
  required: ["name", "role", "created", "enrolled"],
  properties: {
    name: { type: "string" },
    role: { type: "string", enum: ["admin", "user"] },
    created: dateTime,
    enrolled: {
      type: "boolean",
      description:
        "False while the user is enrolling (created or reset, and no credential of its own used yet): only then may an admin issue its credentials",
    },
  },
} as const;

export const tokenInfoSchema = {
  type: "object",
  required: ["id", "label", "scopes", "created", "lastUsed", "expiresAt", "issuedBy"],
  properties: {
    id: { type: "string", description: "Public id of the token (part of the token string); revoke by it" },
    label: { type: ["string", "null"] },
    scopes,
    created: dateTime,
    lastUsed: { ...nullableDateTime, description: "Last successful use, updated at most once a minute" },
    expiresAt: nullableDateTime,
    issuedBy,
  },
} as const;

export const newTokenSchema = {
  type: "object",
  required: ["id", "token", "scopes", "expiresAt", "issuedBy"],
  properties: {
    id: { type: "string" },
    token: { type: "string", description: "The bearer token `sse_…`; shown only in this response" },
    label: { type: ["string", "null"] },
    scopes,
    expiresAt: nullableDateTime,
    issuedBy,
  },
} as const;

export const meSchema = {
  type: "object",
  required: ["name", "role", "token"],
  properties: {
    name: { type: "string" },
    role: { type: "string", enum: ["admin", "user"] },
    token: {
      type: "object",
      required: ["id", "scopes", "expiresAt"],
      properties: { id: { type: "string" }, scopes, expiresAt: nullableDateTime },
    },
  },
} as const;

export const createUserBody = {
  type: "object",
  required: ["name", "role"],
  additionalProperties: false,
  properties: {
    name: {
      type: "string",
      description:
        "1-64 characters of a-z 0-9 . _ -, starting with a letter or digit (otherwise 400 invalid_name)",
    },
    role: { type: "string", enum: ["admin", "user"] },
  },
} as const;

export const createTokenBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    label: { type: ["string", "null"], maxLength: MAX_LABEL_LENGTH },
    scopes: {
      ...scopes,
      minItems: 1,
      description:
        "Default: read and write. A user issuing a token to itself gets at most the scopes of the token it uses (and that by default)",
    },
    expiresInSeconds: {
      type: "integer",
      minimum: 1,
      maximum: MAX_TOKEN_LIFETIME_SECONDS,
      description:
        "Default: never. A user issuing a token to itself cannot outlive the token it uses (and expires with it by default)",
    },
  },
} as const;

export const nameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", description: "User name" } },
} as const;

export const tokenParams = {
  type: "object",
  required: ["name", "id"],
  properties: {
    name: { type: "string", description: "User name" },
    id: { type: "string", description: "Token id" },
  },
} as const;

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const resetTokenSchema = {
  ...newTokenSchema,
  required: [...newTokenSchema.required, "revoked"],
  properties: {
    ...newTokenSchema.properties,
    revoked: { type: "integer", description: "How many credentials the reset revoked" },
  },
} as const;

export function userJson(u: UserRecord) {
  return { name: u.name, role: u.role, created: u.created.toISOString(), enrolled: u.enrolledAt !== null };
}

export function newTokenJson(r: TokenRecord, token: string) {
  return {
    id: r.id,
    token,
    label: r.label,
    scopes: r.scopes,
    expiresAt: iso(r.expiresAt),
    issuedBy: r.issuedBy,
  };
}

export function tokenInfoJson(t: TokenRecord) {
  return {
    id: t.id,
    label: t.label,
    scopes: t.scopes,
    created: t.created.toISOString(),
    lastUsed: iso(t.lastUsed),
    expiresAt: iso(t.expiresAt),
    issuedBy: t.issuedBy,
  };
}

export function meJson(p: Principal) {
  return {
    name: p.user.name,
    role: p.user.role,
    token: { id: p.token.id, scopes: p.token.scopes, expiresAt: iso(p.token.expiresAt) },
  };
}
