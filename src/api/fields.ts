// Field schemas that several resources share (dates, scopes, credential labels), and the two
// builders TypeBox lacks in the form the server has always published: a JSON `type` list for
// nullable values and a string `enum` (rather than anyOf), so validation messages and the
// OpenAPI document stay as they were.
import { type Static, type TSchema, type TString, Type } from "typebox";

/** `T | null` as `{"type": [T's type, "null"]}`, for a schema with a single `type`. */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  const json = { ...schema } as Record<string, unknown>;
  return Type.Unsafe<Static<T> | null>({ ...json, type: [json.type, "null"], ...options });
}

/** One of the given strings, as `{"type": "string", "enum": […]}`. */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<V[number]>({ type: "string", enum: [...values], ...options });
}

/** A string the document lists the known values of, where the server's own type is any string. */
export function KnownString(values: readonly string[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<string>({ type: "string", enum: [...values], ...options });
}

export const DateTime = Type.String({ format: "date-time" });
export const NullableDateTime = Nullable(DateTime);

export const SCOPES = ["read", "write"] as const;
export const Scope = StringEnum(SCOPES);
export type Scope = Static<typeof Scope>;
export const Scopes = Type.Array(Scope);

export const ROLES = ["admin", "user"] as const;
export const Role = StringEnum(ROLES);

export const IssuedBy = Nullable(Type.String(), {
  description:
    "Who issued it: a user name, `reset` (an admin's reset of the user), `bootstrap` (the first start's admin token); null for tokens issued before this was recorded",
});

export const Label = Nullable(Type.String());

/** What a listing shows of a credential (token or S3 access key) besides its id. */
export const credentialInfo = (lastUsed: string) => ({
  label: Label,
  scopes: Scopes,
  created: DateTime,
  lastUsed: Nullable(DateTime, { description: lastUsed }),
  expiresAt: NullableDateTime,
  issuedBy: IssuedBy,
});

/** What the answer that issues a credential (token or S3 access key) says of it after its label. */
export const credentialGrant = {
  scopes: Scopes,
  expiresAt: NullableDateTime,
  issuedBy: IssuedBy,
};

/** The bounds of a new credential (token or S3 access key): auth/token-grant.ts holds them. */
export interface CredentialLimits {
  maxLabelLength: number;
  maxLifetimeSeconds: number;
}

/** The body that asks for a credential: every field optional (no body at all means the defaults). */
export const credentialRequest = (
  limits: CredentialLimits,
  docs: { scopes: string; expiresInSeconds: string },
) =>
  Type.Object(
    {
      label: Type.Optional(Nullable(Type.String({ maxLength: limits.maxLabelLength }))),
      scopes: Type.Optional(Type.Array(Scope, { minItems: 1, description: docs.scopes })),
      expiresInSeconds: Type.Optional(
        Type.Integer({ minimum: 1, maximum: limits.maxLifetimeSeconds, description: docs.expiresInSeconds }),
      ),
    },
    { additionalProperties: false },
  );

/** `{name}` in a path: a user name. */
export const NameParams = Type.Object({ name: Type.String({ description: "User name" }) });
export type NameParams = Static<typeof NameParams>;

/** `{name}` and a credential's id (named `key`) in a path: one token or S3 access key of a user. */
export const credentialParams = <K extends string>(key: K, description: string) =>
  Type.Object({
    ...NameParams.properties,
    ...({ [key]: Type.String({ description }) } as Record<K, TString>),
  });

/** A wildcard route's rest of the path (`/data/*`, `/links/*`). */
export const WildcardParams = Type.Object({ "*": Type.String() });
export type WildcardParams = Static<typeof WildcardParams>;

/** A 204's empty answer (documented as `null`). */
export const NoContent = (description: string) => Type.Unsafe<undefined>({ type: "null", description });
