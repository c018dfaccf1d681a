// The rows both store adapters read (one set of column names) and their mapping to the ports'
// records. The adapters differ only in how times and a token's scopes come back: SQLite keeps
// epoch milliseconds and a comma-separated list, PostgreSQL timestamptz and text[]. Each adapter
// passes its RowCodec to rowMappers once.
import type {
  JobRecord,
  JobState,
  KekVersionRecord,
  ObjectKind,
  ObjectMeta,
  Role,
  Scope,
  TokenRecord,
  UserKeyState,
  UserRecord,
} from "./store.js";

export interface RowCodec<Time, Scopes> {
  time(t: Time): Date;
  scopes(s: Scopes): Scope[];
}

/** The columns of an ObjectRow, in the objects table of both schemas. */
const OBJECT_COLUMN_NAMES = [
  "owner",
  "id",
  "kind",
  "size",
  "content_type",
  "etag",
  "created",
  "modified",
  "write_id",
  "format_version",
  "suite",
  "segment_size",
  "kek_version",
  "wrapped_dek",
] as const satisfies ReadonlyArray<keyof ObjectRow<unknown>>;
export const OBJECT_COLUMNS = OBJECT_COLUMN_NAMES.join(", ");
/** OBJECT_COLUMNS of the objects table aliased `o` (for joins). */
export const OBJECT_COLUMNS_OF_O = OBJECT_COLUMN_NAMES.map((c) => `o.${c}`).join(", ");

export interface ObjectRow<Time> {
  owner: string;
  id: string;
  kind: string;
  size: number;
  content_type: string;
  etag: string;
  created: Time;
  modified: Time;
  write_id: Buffer;
  format_version: number;
  suite: number;
  segment_size: number;
  kek_version: number;
  wrapped_dek: Buffer;
}

export interface UserRow<Time> {
  uid: string;
  name: string;
  role: string;
  created: Time;
  enrolled_at: Time | null;
}

/** The columns of a UserRow, in the users table of both schemas. */
export const USER_COLUMNS = "uid, name, role, created, enrolled_at";

const TOKEN_COLUMN_NAMES = [
  "id",
  "uid",
  "label",
  "scopes",
  "secret_hash",
  "created",
  "last_used",
  "expires_at",
  "issued_by",
] as const satisfies ReadonlyArray<keyof TokenRow<unknown, unknown>>;
/** The columns of a TokenRow, in the tokens table of both schemas. */
export const TOKEN_COLUMNS = TOKEN_COLUMN_NAMES.join(", ");
/** TOKEN_COLUMNS of the tokens table aliased `t` (for joins). */
export const TOKEN_COLUMNS_OF_T = TOKEN_COLUMN_NAMES.map((c) => `t.${c}`).join(", ");

export interface TokenRow<Time, Scopes> {
  id: string;
  uid: string;
  label: string | null;
  scopes: Scopes;
  secret_hash: Buffer;
  created: Time;
  last_used: Time | null;
  expires_at: Time | null;
  issued_by: string | null;
}

/** A token row joined with its user's columns (getTokenWithUser). */
export interface TokenUserRow<Time, Scopes> extends TokenRow<Time, Scopes> {
  user_name: string;
  user_role: string;
  user_created: Time;
  user_enrolled_at: Time | null;
}

/** The user columns of a TokenUserRow, from the users table aliased `u`. */
export const TOKEN_USER_COLUMNS =
  "u.name AS user_name, u.role AS user_role, u.created AS user_created, u.enrolled_at AS user_enrolled_at";

export interface JobRow<Time> {
  id: string;
  kind: string;
  owner: string;
  target: string | null;
  state: string;
  done: number;
  total: number;
  error: string | null;
  cursor: string | null;
  result: string | null;
  created: Time;
  updated: Time;
}

export interface KekRow<Time> {
  owner: string;
  version: number;
  root_version: number;
  wrapped_kek: Buffer;
  created: Time;
}

export interface StateRow {
  owner: string;
  primary_version: number;
  min_decryption_version: number;
}

export function toState(r: StateRow): UserKeyState {
  return {
    owner: r.owner,
    primaryVersion: r.primary_version,
    minDecryptionVersion: r.min_decryption_version,
  };
}

export function rowMappers<Time, Scopes>(c: RowCodec<Time, Scopes>) {
  const orNull = (t: Time | null): Date | null => (t === null ? null : c.time(t));
  const toUser = (r: UserRow<Time>): UserRecord => ({
    uid: r.uid,
    name: r.name,
    role: r.role as Role,
    created: c.time(r.created),
    enrolledAt: orNull(r.enrolled_at),
  });
  const toToken = (r: TokenRow<Time, Scopes>): TokenRecord => ({
    id: r.id,
    uid: r.uid,
    label: r.label,
    scopes: c.scopes(r.scopes),
    secretHash: r.secret_hash,
    created: c.time(r.created),
    lastUsed: orNull(r.last_used),
    expiresAt: orNull(r.expires_at),
    issuedBy: r.issued_by,
  });
  return {
    toUser,
    toToken,
    toTokenWithUser: (r: TokenUserRow<Time, Scopes>): { token: TokenRecord; user: UserRecord } => ({
      token: toToken(r),
      user: toUser({
        uid: r.uid,
        name: r.user_name,
        role: r.user_role,
        created: r.user_created,
        enrolled_at: r.user_enrolled_at,
      }),
    }),
    toMeta: (r: ObjectRow<Time>): ObjectMeta => ({
      owner: r.owner,
      id: r.id,
      kind: r.kind as ObjectKind,
      size: r.size,
      contentType: r.content_type,
      etag: r.etag,
      created: c.time(r.created),
      modified: c.time(r.modified),
      writeId: r.write_id,
      formatVersion: r.format_version,
      suite: r.suite,
      segmentSize: r.segment_size,
      kekVersion: r.kek_version,
      wrappedDek: r.wrapped_dek,
    }),
    toJob: (r: JobRow<Time>): JobRecord => ({
      id: r.id,
      kind: r.kind,
      owner: r.owner,
      target: r.target,
      state: r.state as JobState,
      done: r.done,
      total: r.total,
      error: r.error,
      cursor: r.cursor,
      result: r.result,
      created: c.time(r.created),
      updated: c.time(r.updated),
    }),
    toKek: (r: KekRow<Time>): KekVersionRecord => ({
      owner: r.owner,
      version: r.version,
      rootVersion: r.root_version,
      wrappedKek: r.wrapped_kek,
      created: c.time(r.created),
    }),
  };
}

/** SQLite: times as epoch milliseconds, scopes as a comma-separated list ("" for none). */
export const sqliteRows = rowMappers<number, string>({
  time: (t) => new Date(t),
  scopes: (s) => (s === "" ? [] : (s.split(",") as Scope[])),
});

/** PostgreSQL: timestamptz comes back as a Date, scopes as text[]. */
export const postgresRows = rowMappers<Date, string[]>({
  time: (t) => t,
  scopes: (s) => s as Scope[],
});
