// JSON shapes of S3 access keys as the native API shows them: the secret only in the answer that
// creates the key, never in a listing.
import { ACCESS_KEY_ID_LENGTH } from "../auth/access-key-format.js";
import { MAX_LABEL_LENGTH, MAX_TOKEN_LIFETIME_SECONDS } from "../auth/token-grant.js";
import type { AccessKeyRecord } from "../store/records.js";
import { dateTime, iso, issuedBy, nullableDateTime, scopes } from "./user-schemas.js";

const accessKeyId = {
  type: "string",
  minLength: ACCESS_KEY_ID_LENGTH,
  maxLength: ACCESS_KEY_ID_LENGTH,
  description:
    "The access key id (`SSEK` and 16 upper-case hex digits): public, sent in every SigV4 credential",
} as const;

export const createAccessKeyBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    label: { type: ["string", "null"], maxLength: MAX_LABEL_LENGTH },
    scopes: {
      ...scopes,
      minItems: 1,
      description:
        "read: GET and HEAD of objects and listings; write: every change. Default: the scopes of the token that asks (at most those)",
    },
    expiresInSeconds: {
      type: "integer",
      minimum: 1,
      maximum: MAX_TOKEN_LIFETIME_SECONDS,
      description:
        "Default: when the token that asks expires, else never. The key cannot outlive the token that asks for it",
    },
  },
} as const;

export const newAccessKeySchema = {
  type: "object",
  required: ["accessKeyId", "secretAccessKey", "label", "scopes", "expiresAt", "issuedBy"],
  properties: {
    accessKeyId,
    secretAccessKey: {
      type: "string",
      description:
        "The secret access key (43 characters): shown only in this response; the server keeps it only encrypted under the user's key",
    },
    label: { type: ["string", "null"] },
    scopes,
    expiresAt: nullableDateTime,
    issuedBy,
  },
} as const;

export const accessKeyInfoSchema = {
  type: "object",
  required: ["accessKeyId", "label", "scopes", "created", "lastUsed", "expiresAt", "issuedBy"],
  properties: {
    accessKeyId,
    label: { type: ["string", "null"] },
    scopes,
    created: dateTime,
    lastUsed: {
      ...nullableDateTime,
      description: "Last authenticated S3 request, updated at most once a minute",
    },
    expiresAt: nullableDateTime,
    issuedBy,
  },
} as const;

export const accessKeyParams = {
  type: "object",
  required: ["name", "accessKeyId"],
  properties: {
    name: { type: "string", description: "User name" },
    accessKeyId: { type: "string", description: "Access key id" },
  },
} as const;

export function newAccessKeyJson(r: AccessKeyRecord, secret: string) {
  return {
    accessKeyId: r.id,
    secretAccessKey: secret,
    label: r.label,
    scopes: r.scopes,
    expiresAt: iso(r.expiresAt),
    issuedBy: r.issuedBy,
  };
}

export function accessKeyInfoJson(r: AccessKeyRecord) {
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
