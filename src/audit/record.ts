// An audit record and its place in the chain: each record's canonical JSON names its sequence
// number and the hash of the record before it, and its own hash is SHA-256 over a domain tag and
// those bytes. Changing, removing or reordering one record breaks every hash after it.
import { createHash } from "node:crypto";
import { type CanonicalValue, canonicalJson } from "./canonical-json.js";

export const AUDIT_FORMAT_VERSION = 1;
/** The `prev` of the first record. */
export const GENESIS_HASH = "0".repeat(64);
const HASH_TAG = Buffer.from("sse-store audit record v1\n");

export type Outcome = "ok" | "denied" | "failed" | "pending";

export interface Actor {
  /** The user's uid (stays after the user is deleted); absent for an unauthenticated caller. */
  uid?: string;
  /** Token id or S3 access key id: names the credential, never its secret. */
  credential?: string;
  /** uid of whoever issued the credential. */
  issuedBy?: string;
}

export interface Target {
  /** uid of the user whose account or data the action touched. */
  owner?: string;
  /** HMAC-SHA-256 (hex) of the object id under the audit key: checkable by whoever holds the key. */
  object?: string;
  /** A credential, job or key version the action named. */
  id?: string;
  /** HMAC of the object a copy read from, as `object`. */
  source?: string;
}

/** What the server knows of an action before the chain places it. */
export interface EventDraft {
  action: string;
  outcome: Outcome;
  /** HTTP status of the answer (the native API or S3), when there was one. */
  status?: number;
  actor?: Actor;
  client?: string;
  requestId?: string;
  target?: Target;
  keyVersion?: number;
  /** "native" or "s3": which listener took the request; absent for server-side events. */
  api?: string;
  /** Free detail without secrets (the reason of a failed authentication, a job's id). */
  detail?: string;
}

/** A checkpoint: the signed statement that record `seq` has hash `hash` (and so does all before it). */
export interface CheckpointBody {
  seq: number;
  hash: string;
  /** Key id: the first 16 hex digits of SHA-256 of the Ed25519 public key. */
  key: string;
  /** Ed25519 signature (base64) of checkpointMessage(seq, hash, time). */
  sig: string;
}

/** The parsed body of a record, as hashed. */
export interface RecordBody extends EventDraft {
  v: number;
  seq: number;
  prev: string;
  /** ISO 8601 with milliseconds, UTC. */
  time: string;
  kind: "event" | "checkpoint";
  checkpoint?: CheckpointBody;
}

/** A record as stored: the exact bytes that were hashed, and the columns a query filters on. */
export interface SealedRecord {
  seq: number;
  /** Milliseconds since the epoch (the body's `time`). */
  time: number;
  hash: string;
  body: string;
  actor: string | null;
  action: string;
  owner: string | null;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

export function recordHash(body: string): string {
  return createHash("sha256").update(HASH_TAG).update(body, "utf8").digest("hex");
}

function toCanonical(body: RecordBody): CanonicalValue {
  return body as unknown as CanonicalValue;
}

/** Places `draft` after `head`: its sequence number, the previous hash, and its own hash. */
export function seal(
  head: ChainHead,
  draft: EventDraft & { kind?: RecordBody["kind"]; checkpoint?: CheckpointBody },
  at: Date,
): SealedRecord {
  const body: RecordBody = {
    ...draft,
    v: AUDIT_FORMAT_VERSION,
    seq: head.seq + 1,
    prev: head.hash,
    time: at.toISOString(),
    kind: draft.kind ?? "event",
  };
  const text = canonicalJson(toCanonical(body));
  return {
    seq: body.seq,
    time: at.getTime(),
    hash: recordHash(text),
    body: text,
    actor: body.actor?.uid ?? null,
    action: body.action,
    owner: body.target?.owner ?? null,
  };
}

/** Parses a stored body; null when it is not a record of this format. */
export function parseBody(text: string): RecordBody | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const b = v as Partial<RecordBody>;
  if (
    b.v !== AUDIT_FORMAT_VERSION ||
    !Number.isSafeInteger(b.seq) ||
    typeof b.prev !== "string" ||
    typeof b.time !== "string" ||
    typeof b.action !== "string" ||
    (b.kind !== "event" && b.kind !== "checkpoint")
  )
    return null;
  return b as RecordBody;
}
