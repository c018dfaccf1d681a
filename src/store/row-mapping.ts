// The mapping between the rows (rows.ts) and the ports' records, both ways. The adapters differ only
// in how times and a credential's scopes are kept: SQLite keeps epoch milliseconds and a comma-separated
// list, PostgreSQL timestamptz and text[]. Each adapter uses the mappers of its RowCodec.
import { integerIdValue } from "./id-order.js";
import type {
  AccessKeyRecord,
  BucketRecord,
  JobRecord,
  JobState,
  KekVersionRecord,
  MultipartUploadRecord,
  ObjectKeyInfo,
  ObjectKind,
  ObjectMeta,
  PartRecord,
  Role,
  Scope,
  TokenRecord,
  UserKeyState,
  UserRecord,
  WriteCipher,
} from "./records.js";
import type {
  AccessKeyRow,
  AccessKeyUserRow,
  BucketRow,
  JobRow,
  KekRow,
  MultipartUploadRow,
  ObjectKeyRow,
  ObjectRow,
  ObjectWriteRow,
  PartRow,
  StateRow,
  TokenRow,
  TokenUserRow,
  UserRow,
  WriteCipherRow,
} from "./rows.js";

const toCipher = (r: WriteCipherRow): WriteCipher => ({
  writeId: r.write_id,
  formatVersion: r.format_version,
  suite: r.suite,
  segmentSize: r.segment_size,
  kekVersion: r.kek_version,
  wrappedDek: r.wrapped_dek,
});

const fromCipher = (m: WriteCipher): WriteCipherRow => ({
  write_id: m.writeId,
  format_version: m.formatVersion,
  suite: m.suite,
  segment_size: m.segmentSize,
  kek_version: m.kekVersion,
  wrapped_dek: m.wrappedDek,
});

export interface RowCodec<Time, Scopes> {
  time(t: Time): Date;
  scopes(s: Scopes): Scope[];
  /** The reverse of `time`, for writes. */
  storeTime(d: Date): Time;
  /** The reverse of `scopes`, for writes. */
  storeScopes(s: Scope[]): Scopes;
}

export function toKeyInfo(r: ObjectKeyRow): ObjectKeyInfo {
  return { id: r.id, writeId: r.write_id, kekVersion: r.kek_version, wrappedDek: r.wrapped_dek };
}

export function toState(r: StateRow): UserKeyState {
  return {
    owner: r.owner,
    primaryVersion: r.primary_version,
    minDecryptionVersion: r.min_decryption_version,
  };
}

export function fromState(s: UserKeyState): StateRow {
  return {
    owner: s.owner,
    primary_version: s.primaryVersion,
    min_decryption_version: s.minDecryptionVersion,
  };
}

export function rowMappers<Time, Scopes>(c: RowCodec<Time, Scopes>) {
  const orNull = (t: Time | null): Date | null => (t === null ? null : c.time(t));
  // Undefined too: callers in plain JavaScript may leave an optional time out.
  const storeOrNull = (d: Date | null | undefined): Time | null => (d == null ? null : c.storeTime(d));
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
  const toAccessKey = (r: AccessKeyRow<Time, Scopes>): AccessKeyRecord => ({
    id: r.id,
    uid: r.uid,
    label: r.label,
    scopes: c.scopes(r.scopes),
    kekVersion: r.kek_version,
    wrappedSecret: r.wrapped_secret,
    created: c.time(r.created),
    lastUsed: orNull(r.last_used),
    expiresAt: orNull(r.expires_at),
    issuedBy: r.issued_by,
  });
  /** The user of a credential row joined with TOKEN_USER_COLUMNS. */
  const joinedUser = (r: TokenUserRow<Time, Scopes> | AccessKeyUserRow<Time, Scopes>): UserRecord =>
    toUser({
      uid: r.uid,
      name: r.user_name,
      role: r.user_role,
      created: r.user_created,
      enrolled_at: r.user_enrolled_at,
    });
  return {
    toUser,
    fromUser: (u: UserRecord): UserRow<Time> => ({
      uid: u.uid,
      name: u.name,
      role: u.role,
      created: c.storeTime(u.created),
      enrolled_at: storeOrNull(u.enrolledAt),
    }),
    toToken,
    fromToken: (t: TokenRecord): TokenRow<Time, Scopes> => ({
      id: t.id,
      uid: t.uid,
      label: t.label,
      scopes: c.storeScopes(t.scopes),
      secret_hash: t.secretHash,
      created: c.storeTime(t.created),
      last_used: storeOrNull(t.lastUsed),
      expires_at: storeOrNull(t.expiresAt),
      issued_by: t.issuedBy,
    }),
    toTokenWithUser: (r: TokenUserRow<Time, Scopes>): { token: TokenRecord; user: UserRecord } => ({
      token: toToken(r),
      user: joinedUser(r),
    }),
    toAccessKey,
    fromAccessKey: (k: AccessKeyRecord): AccessKeyRow<Time, Scopes> => ({
      id: k.id,
      uid: k.uid,
      label: k.label,
      scopes: c.storeScopes(k.scopes),
      kek_version: k.kekVersion,
      wrapped_secret: k.wrappedSecret,
      created: c.storeTime(k.created),
      last_used: storeOrNull(k.lastUsed),
      expires_at: storeOrNull(k.expiresAt),
      issued_by: k.issuedBy,
    }),
    toAccessKeyWithUser: (r: AccessKeyUserRow<Time, Scopes>): { key: AccessKeyRecord; user: UserRecord } => ({
      key: toAccessKey(r),
      user: joinedUser(r),
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
      ...toCipher(r),
      sealedMeta: r.sealed_meta,
    }),
    fromMeta: (m: ObjectMeta): ObjectWriteRow<Time> => ({
      owner: m.owner,
      id: m.id,
      num: integerIdValue(m.id),
      kind: m.kind,
      size: m.size,
      content_type: m.contentType,
      etag: m.etag,
      created: c.storeTime(m.created),
      modified: c.storeTime(m.modified),
      ...fromCipher(m),
      // Undefined too: callers in plain JavaScript may leave it out.
      sealed_meta: m.sealedMeta ?? null,
    }),
    toBucket: (r: BucketRow<Time>): BucketRecord => ({
      owner: r.owner,
      name: r.name,
      created: c.time(r.created),
    }),
    fromBucket: (b: BucketRecord): BucketRow<Time> => ({
      owner: b.owner,
      name: b.name,
      created: c.storeTime(b.created),
    }),
    toUpload: (r: MultipartUploadRow<Time>): MultipartUploadRecord => ({
      uploadId: r.upload_id,
      owner: r.owner,
      id: r.id,
      ...toCipher(r),
      contentType: r.content_type,
      sealedMeta: r.sealed_meta,
      created: c.time(r.created),
    }),
    fromUpload: (u: MultipartUploadRecord): MultipartUploadRow<Time> => ({
      upload_id: u.uploadId,
      owner: u.owner,
      id: u.id,
      ...fromCipher(u),
      content_type: u.contentType,
      sealed_meta: u.sealedMeta ?? null,
      created: c.storeTime(u.created),
    }),
    toPart: (r: PartRow<Time>): PartRecord => ({
      uploadId: r.upload_id,
      number: r.number,
      writeId: r.write_id,
      size: r.size,
      sealedInfo: r.sealed_info,
      created: c.time(r.created),
    }),
    fromPart: (p: PartRecord): PartRow<Time> => ({
      upload_id: p.uploadId,
      number: p.number,
      write_id: p.writeId,
      size: p.size,
      sealed_info: p.sealedInfo,
      created: c.storeTime(p.created),
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
    fromJob: (j: JobRecord): JobRow<Time> => ({
      ...j,
      created: c.storeTime(j.created),
      updated: c.storeTime(j.updated),
    }),
    toKek: (r: KekRow<Time>): KekVersionRecord => ({
      owner: r.owner,
      version: r.version,
      rootVersion: r.root_version,
      wrappedKek: r.wrapped_kek,
      created: c.time(r.created),
    }),
    fromKek: (k: KekVersionRecord): KekRow<Time> => ({
      owner: k.owner,
      version: k.version,
      root_version: k.rootVersion,
      wrapped_kek: k.wrappedKek,
      created: c.storeTime(k.created),
    }),
  };
}

/** SQLite: times as epoch milliseconds, scopes as a comma-separated list ("" for none). */
export const sqliteRows = rowMappers<number, string>({
  time: (t) => new Date(t),
  scopes: (s) => (s === "" ? [] : (s.split(",") as Scope[])),
  storeTime: (d) => d.getTime(),
  storeScopes: (s) => s.join(","),
});

/** PostgreSQL: timestamptz comes back as a Date, scopes as text[]. */
export const postgresRows = rowMappers<Date, string[]>({
  time: (t) => t,
  scopes: (s) => s as Scope[],
  storeTime: (d) => d,
  storeScopes: (s) => s,
});
