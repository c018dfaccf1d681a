// The rows both store adapters read and write: their shapes and one list of column names per
// table, from which the adapters build their SQL. The mapping to and from the ports' records is in
// row-mapping.ts.

/** A column list for SQL text. */
const list = (names: readonly string[], alias?: string) =>
  names.map((c) => (alias ? `${alias}.${c}` : c)).join(", ");

/** The values of `names` in `row`, in that order (positional parameters). */
export function valuesOf<R>(names: readonly (keyof R & string)[], row: R): unknown[] {
  return names.map((c) => row[c]);
}

/** SQLite named parameters for these columns: `@a, @b, …` (bound from a row object). */
export const sqliteParams = (names: readonly string[]) => names.map((c) => `@${c}`).join(", ");

/** PostgreSQL positional parameters `$first, …` for `count` values. */
export const pgParams = (count: number, first = 1) =>
  Array.from({ length: count }, (_, i) => `$${first + i}`).join(", ");

// --- objects ---------------------------------------------------------------------------------------

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
export const OBJECT_COLUMNS = list(OBJECT_COLUMN_NAMES);
/** OBJECT_COLUMNS of the objects table aliased `o` (for joins). */
export const OBJECT_COLUMNS_OF_O = list(OBJECT_COLUMN_NAMES, "o");

/** What commitObject writes: an ObjectRow and `num`, the id's integer value (list order). */
export interface ObjectWriteRow<Time> extends ObjectRow<Time> {
  num: number | null;
}

/** The columns commitObject inserts. */
export const OBJECT_WRITE_COLUMN_NAMES = [...OBJECT_COLUMN_NAMES, "num"] as const satisfies ReadonlyArray<
  keyof ObjectWriteRow<unknown>
>;
export const OBJECT_WRITE_COLUMNS = list(OBJECT_WRITE_COLUMN_NAMES);

/** The columns a replacing write changes: all but the key, `num` (the id's) and the first version's `created`. */
export const OBJECT_REPLACE_COLUMN_NAMES = OBJECT_COLUMN_NAMES.filter(
  (c) => c !== "owner" && c !== "id" && c !== "created",
);

/** The key bookkeeping of an object (ObjectKeyInfo). */
export interface ObjectKeyRow {
  id: string;
  write_id: Buffer;
  kek_version: number;
  wrapped_dek: Buffer;
}
export const OBJECT_KEY_COLUMNS = "id, write_id, kek_version, wrapped_dek";

// --- users and tokens -----------------------------------------------------------------------------

export interface UserRow<Time> {
  uid: string;
  name: string;
  role: string;
  created: Time;
  enrolled_at: Time | null;
}

/** The columns of a UserRow, in the users table of both schemas. */
export const USER_COLUMN_NAMES = [
  "uid",
  "name",
  "role",
  "created",
  "enrolled_at",
] as const satisfies ReadonlyArray<keyof UserRow<unknown>>;
export const USER_COLUMNS = list(USER_COLUMN_NAMES);

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

/** The columns of a TokenRow, in the tokens table of both schemas. */
export const TOKEN_COLUMN_NAMES = [
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
export const TOKEN_COLUMNS = list(TOKEN_COLUMN_NAMES);
/** TOKEN_COLUMNS of the tokens table aliased `t` (for joins). */
export const TOKEN_COLUMNS_OF_T = list(TOKEN_COLUMN_NAMES, "t");

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

// --- jobs -----------------------------------------------------------------------------------------

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

/** The columns of a JobRow, in the jobs table of both schemas (the lease columns stay inside the adapters). */
export const JOB_COLUMN_NAMES = [
  "id",
  "kind",
  "owner",
  "target",
  "state",
  "done",
  "total",
  "error",
  "cursor",
  "result",
  "created",
  "updated",
] as const satisfies ReadonlyArray<keyof JobRow<unknown>>;
export const JOB_COLUMNS = list(JOB_COLUMN_NAMES);

// --- keys -----------------------------------------------------------------------------------------

export interface KekRow<Time> {
  owner: string;
  version: number;
  root_version: number;
  wrapped_kek: Buffer;
  created: Time;
}

/** The columns of a KekRow, in the kek_versions table of both schemas. */
export const KEK_COLUMN_NAMES = [
  "owner",
  "version",
  "root_version",
  "wrapped_kek",
  "created",
] as const satisfies ReadonlyArray<keyof KekRow<unknown>>;
export const KEK_COLUMNS = list(KEK_COLUMN_NAMES);

export interface StateRow {
  owner: string;
  primary_version: number;
  min_decryption_version: number;
}

/** The columns of a StateRow, in the user_keys table of both schemas. */
export const STATE_COLUMN_NAMES = [
  "owner",
  "primary_version",
  "min_decryption_version",
] as const satisfies ReadonlyArray<keyof StateRow>;
export const STATE_COLUMNS = list(STATE_COLUMN_NAMES);
