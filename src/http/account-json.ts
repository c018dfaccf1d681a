// Users, tokens and S3 access keys as the API shows them (src/api/): never a secret but the one
// new token or access key secret, in the answer that issues it.
import type { AccessKeyInfo, NewAccessKey } from "../api/access-keys.js";
import type { CredentialLimits } from "../api/fields.js";
import type { NewToken, TokenInfo } from "../api/tokens.js";
import type { Me, User } from "../api/users.js";
import type { Principal } from "../auth/principal.js";
import { MAX_LABEL_LENGTH, MAX_TOKEN_LIFETIME_SECONDS } from "../auth/token-grant.js";
import type { AccessKeyRecord, TokenRecord, UserRecord } from "../store/records.js";

/** The bounds the token grant enforces, for the credential bodies' schemas. */
export const CREDENTIAL_LIMITS: CredentialLimits = {
  maxLabelLength: MAX_LABEL_LENGTH,
  maxLifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS,
};

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function userJson(u: UserRecord): User {
  return { name: u.name, role: u.role, created: u.created.toISOString(), enrolled: u.enrolledAt !== null };
}

export function newTokenJson(r: TokenRecord, token: string): NewToken {
  return {
    id: r.id,
    token,
    label: r.label,
    scopes: r.scopes,
    expiresAt: iso(r.expiresAt),
    issuedBy: r.issuedBy,
  };
}

export function tokenInfoJson(t: TokenRecord): TokenInfo {
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

export function meJson(p: Principal): Me {
  return {
    name: p.user.name,
    role: p.user.role,
    token: { id: p.token.id, scopes: p.token.scopes, expiresAt: iso(p.token.expiresAt) },
  };
}

export function newAccessKeyJson(r: AccessKeyRecord, secret: string): NewAccessKey {
  return {
    accessKeyId: r.id,
    secretAccessKey: secret,
    label: r.label,
    scopes: r.scopes,
    expiresAt: iso(r.expiresAt),
    issuedBy: r.issuedBy,
  };
}

export function accessKeyInfoJson(r: AccessKeyRecord): AccessKeyInfo {
  return {
    accessKeyId: r.id,
    label: r.label,
    scopes: r.scopes,
    created: r.created.toISOString(),
    lastUsed: iso(r.lastUsed),
    expiresAt: iso(r.expiresAt),
    issuedBy: r.issuedBy,
  };
}
