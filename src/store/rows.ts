// The rows both store adapters read and write: their shapes, and the columns of each table, named
// once, from which the adapters build their SQL. The mapping to and from the ports' records is in
// row-mapping.ts.

/** A table's columns (or some of them): their names, for binding values, and as SQL text. */
export interface Columns<N extends string> {
  readonly table: string;
  readonly names: readonly N[];
  /** `a, b, c` */
  readonly list: string;
  /** `x.a, x.b, x.c`: the list for the table aliased `x` in a join. */
  of(alias: string): string;
}

/** The words of a space-separated list, as a tuple type. */
type Words<S extends string> = S extends `${infer W} ${infer Rest}` ? [W, ...Words<Rest>] : [S];

function columnSet<N extends string>(table: string, names: readonly N[]): Columns<N> {
  return {
    table,
    names,
    list: names.join(", "),
    of: (alias) => names.map((c) => `${alias}.${c}`).join(", "),
  };
}

/** The columns of row type R in `table`, named in one space-separated list; a name R does not have fails to compile. */
function columns<R>() {
  return <const S extends string>(
    table: string,
    spec: S & (Words<S>[number] extends keyof R ? unknown : never),
  ): Columns<Words<S>[number]> => columnSet(table, spec.split(" ") as Words<S>[number][]);
}

/** The values of `names` in `row`, in that order (positional parameters). */
export function valuesOf<R>(names: readonly (keyof R & string)[], row: R): unknown[] {
  return names.map((c) => row[c]);
}

/** SQLite's insert of a row into these columns, its values bound by name from a row object. */
export const sqliteInsert = (c: Columns<string>) =>
  `INSERT INTO ${c.table} (${c.list}) VALUES (${c.names.map((n) => `@${n}`).join(", ")})`;

/** PostgreSQL's insert of a row into these columns, its values from valuesOf(c.names, row). */
export const pgInsert = (c: Columns<string>) =>
  `INSERT INTO ${c.table} (${c.list}) VALUES (${c.names.map((_, i) => `$${i + 1}`).join(", ")})`;

// --- objects ---------------------------------------------------------------------------------------

/** How one write's bytes are encrypted: the columns an object and the upload that becomes one share. */
export interface WriteCipherRow {
  write_id: Buffer;
  format_version: number;
  suite: number;
  segment_size: number;
  kek_version: number;
  wrapped_dek: Buffer;
}

export interface ObjectRow<Time> extends WriteCipherRow {
  owner: string;
  id: string;
  kind: string;
  size: number;
  content_type: string;
  etag: string;
  created: Time;
  modified: Time;
  sealed_meta: Buffer | null;
}

/** The columns of an ObjectRow, in the objects table of both schemas. */
export const OBJECTS = columns<ObjectRow<unknown>>()(
  "objects",
  "owner id kind size content_type etag created modified write_id format_version suite segment_size kek_version wrapped_dek sealed_meta",
);

/** What commitObject writes: an ObjectRow and `num`, the id's integer value (list order). */
export interface ObjectWriteRow<Time> extends ObjectRow<Time> {
  num: number | null;
}

/** The columns commitObject inserts. */
export const OBJECTS_WRITTEN = columnSet<keyof ObjectWriteRow<unknown>>("objects", [...OBJECTS.names, "num"]);

/** The columns a replacing write changes: all but the key, `num` (the id's) and the first version's `created`. */
export const OBJECTS_REPLACED = columnSet(
  "objects",
  OBJECTS.names.filter((c) => c !== "owner" && c !== "id" && c !== "created"),
);

/** The key bookkeeping of an object (ObjectKeyInfo). */
export interface ObjectKeyRow {
  id: string;
  write_id: Buffer;
  kek_version: number;
  wrapped_dek: Buffer;
}
export const OBJECT_KEYS = columns<ObjectKeyRow>()("objects", "id write_id kek_version wrapped_dek");

// --- buckets and multipart uploads -----------------------------------------------------------------

export interface BucketRow<Time> {
  owner: string;
  name: string;
  created: Time;
}

/** The columns of a BucketRow, in the buckets table of both schemas. */
export const BUCKETS = columns<BucketRow<unknown>>()("buckets", "owner name created");

export interface MultipartUploadRow<Time> extends WriteCipherRow {
  upload_id: string;
  owner: string;
  id: string;
  content_type: string;
  sealed_meta: Buffer | null;
  created: Time;
}

/** The columns of a MultipartUploadRow, in the multipart_uploads table of both schemas. */
export const MULTIPART_UPLOADS = columns<MultipartUploadRow<unknown>>()(
  "multipart_uploads",
  "upload_id owner id write_id format_version suite segment_size kek_version wrapped_dek content_type sealed_meta created",
);

export interface PartRow<Time> {
  upload_id: string;
  number: number;
  write_id: Buffer;
  size: number;
  sealed_info: Buffer;
  created: Time;
}

/** The columns of a PartRow, in the multipart_parts table of both schemas. */
export const MULTIPART_PARTS = columns<PartRow<unknown>>()(
  "multipart_parts",
  "upload_id number write_id size sealed_info created",
);

// --- users and tokens -----------------------------------------------------------------------------

export interface UserRow<Time> {
  uid: string;
  name: string;
  role: string;
  created: Time;
  enrolled_at: Time | null;
}

/** The columns of a UserRow, in the users table of both schemas. */
export const USERS = columns<UserRow<unknown>>()("users", "uid name role created enrolled_at");

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
export const TOKENS = columns<TokenRow<unknown, unknown>>()(
  "tokens",
  "id uid label scopes secret_hash created last_used expires_at issued_by",
);

/** A token row joined with its user's columns (getTokenWithUser). */
export interface TokenUserRow<Time, Scopes> extends TokenRow<Time, Scopes> {
  user_name: string;
  user_role: string;
  user_created: Time;
  user_enrolled_at: Time | null;
}

/** The user columns of a TokenUserRow (and of an AccessKeyUserRow), from the users table aliased `u`. */
export const TOKEN_USER_COLUMNS =
  "u.name AS user_name, u.role AS user_role, u.created AS user_created, u.enrolled_at AS user_enrolled_at";

// --- S3 access keys ---------------------------------------------------------------------------------

export interface AccessKeyRow<Time, Scopes> {
  id: string;
  uid: string;
  label: string | null;
  scopes: Scopes;
  kek_version: number;
  wrapped_secret: Buffer;
  created: Time;
  last_used: Time | null;
  expires_at: Time | null;
  issued_by: string | null;
}

/** The columns of an AccessKeyRow, in the access_keys table of both schemas. */
export const ACCESS_KEYS = columns<AccessKeyRow<unknown, unknown>>()(
  "access_keys",
  "id uid label scopes kek_version wrapped_secret created last_used expires_at issued_by",
);

/** An access key row joined with its user's columns (getAccessKeyWithUser; TOKEN_USER_COLUMNS). */
export interface AccessKeyUserRow<Time, Scopes> extends AccessKeyRow<Time, Scopes> {
  user_name: string;
  user_role: string;
  user_created: Time;
  user_enrolled_at: Time | null;
}

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
export const JOBS = columns<JobRow<unknown>>()(
  "jobs",
  "id kind owner target state done total error cursor result created updated",
);

// --- keys -----------------------------------------------------------------------------------------

export interface KekRow<Time> {
  owner: string;
  version: number;
  root_version: number;
  wrapped_kek: Buffer;
  created: Time;
}

/** The columns of a KekRow, in the kek_versions table of both schemas. */
export const KEK_VERSIONS = columns<KekRow<unknown>>()(
  "kek_versions",
  "owner version root_version wrapped_kek created",
);

export interface StateRow {
  owner: string;
  primary_version: number;
  min_decryption_version: number;
}

/** The columns of a StateRow, in the user_keys table of both schemas. */
export const USER_KEYS = columns<StateRow>()("user_keys", "owner primary_version min_decryption_version");
