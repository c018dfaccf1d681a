// Offline verification of an exported or stored chain: every record's hash, its link to the one
// before, the sequence without gaps, every checkpoint's signature, and (given the checkpoints
// written outside the database) that no record a checkpoint covers is missing. The first
// sequence number where the log breaks is named.
import { checkpointMessage, verifyCheckpointSignature } from "./audit-keys.js";
import { GENESIS_HASH, parseBody, recordHash } from "./record.js";

/** A record as read back: its sequence number and hash columns, and the body as stored. */
export interface StoredRecord {
  seq: number;
  hash: string;
  body: string;
}

export interface ChainBreak {
  seq: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records checked. */
  records: number;
  /** Signed checkpoints found in the chain and checked. */
  checkpoints: number;
  /** The last sequence number read (0 when empty). */
  last: number;
  /** The last record covered by a valid checkpoint (0 when none). */
  lastCheckpointed: number;
  broken?: ChainBreak;
}

/** Checks a checkpoint record's signature and that it states the hash of the record before it. */
function checkCheckpoint(body: NonNullable<ReturnType<typeof parseBody>>, publicKey: Buffer): string | null {
  const cp = body.checkpoint;
  if (!cp || typeof cp.sig !== "string" || typeof cp.hash !== "string" || !Number.isSafeInteger(cp.seq))
    return "a checkpoint without its signed statement";
  if (!verifyCheckpointSignature(publicKey, checkpointMessage(cp.seq, cp.hash, body.time), cp.sig))
    return "a checkpoint whose signature does not verify with this public key (forged or altered)";
  if (cp.seq !== body.seq - 1 || cp.hash !== body.prev)
    return "a checkpoint that does not state the record before it";
  return null;
}

export class ChainVerifier {
  readonly #publicKey: Buffer;
  #expectSeq: number | null = null;
  #prevHash: string | null = null;
  #result: VerifyResult = { ok: true, records: 0, checkpoints: 0, last: 0, lastCheckpointed: 0 };

  constructor(publicKey: Buffer) {
    this.#publicKey = publicKey;
  }

  get result(): VerifyResult {
    return this.#result;
  }

  #fail(seq: number, reason: string): false {
    this.#result = { ...this.#result, ok: false, broken: { seq, reason } };
    return false;
  }

  /** Feeds the next record in sequence order; false once the chain broke (then stop). */
  add(rec: StoredRecord): boolean {
    if (!this.#result.ok) return false;
    const first = this.#expectSeq === null;
    const expected = this.#expectSeq ?? rec.seq;
    if (rec.seq > expected) return this.#fail(expected, `record ${expected} is missing (deleted)`);
    if (rec.seq < expected) return this.#fail(rec.seq, `record ${rec.seq} appears twice or out of order`);
    const body = parseBody(rec.body);
    if (!body) return this.#fail(rec.seq, "the record is not a well-formed audit record (modified)");
    if (body.seq !== rec.seq)
      return this.#fail(rec.seq, `the record stored as ${rec.seq} says it is ${body.seq} (reordered)`);
    const hash = recordHash(rec.body);
    if (hash !== rec.hash)
      return this.#fail(rec.seq, "the record's content does not match its hash (modified)");
    if (first) {
      // The chain starts at 1, or (after a prune) at a checkpoint that states the record before it.
      if (rec.seq === 1) {
        if (body.prev !== GENESIS_HASH) return this.#fail(1, "the first record does not start the chain");
      } else if (body.kind !== "checkpoint") {
        return this.#fail(
          rec.seq,
          `the log starts at ${rec.seq} without a checkpoint (records before it removed)`,
        );
      }
    } else if (body.prev !== this.#prevHash) {
      return this.#fail(rec.seq, "the record does not follow the one before it (modified or reordered)");
    }
    if (body.kind === "checkpoint") {
      const bad = checkCheckpoint(body, this.#publicKey);
      if (bad) return this.#fail(rec.seq, bad);
      this.#result.checkpoints++;
      this.#result.lastCheckpointed = body.seq - 1;
    }
    this.#expectSeq = rec.seq + 1;
    this.#prevHash = hash;
    this.#result.records++;
    this.#result.last = rec.seq;
    return true;
  }

  /**
   * With the checkpoints written outside the database (SSE_AUDIT_EXPORT): each must verify, and
   * the record it is must be in the chain, unchanged. A checkpoint beyond the chain's end proves a
   * truncated tail. `lookup` returns a record's stored hash, or null when it is not there.
   */
  async checkExported(
    lines: Iterable<string>,
    lookup: (seq: number) => Promise<string | null>,
  ): Promise<VerifyResult> {
    if (!this.#result.ok) return this.#result;
    let lineNo = 0;
    for (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      let rec: StoredRecord;
      try {
        rec = JSON.parse(line) as StoredRecord;
      } catch {
        throw new Error(`checkpoint file line ${lineNo} is not JSON`);
      }
      const body = typeof rec?.body === "string" ? parseBody(rec.body) : null;
      if (body?.kind !== "checkpoint" || body.seq !== rec.seq || recordHash(rec.body) !== rec.hash)
        throw new Error(`checkpoint file line ${lineNo} is not a checkpoint record`);
      if (checkCheckpoint(body, this.#publicKey))
        throw new Error(`checkpoint file line ${lineNo}: its signature does not verify with this public key`);
      if (rec.seq > this.#result.last) {
        const missing = Math.max(this.#result.last + 1, 1);
        this.#fail(
          missing,
          `the log ends at ${this.#result.last}, but a checkpoint records ${rec.seq} (truncated)`,
        );
        return this.#result;
      }
      const stored = await lookup(rec.seq);
      if (stored === null) {
        // Pruned away: the chain that remains starts after it.
        continue;
      }
      if (stored !== rec.hash) {
        this.#fail(
          rec.seq,
          "the checkpoint in the database differs from the one written outside it (replaced)",
        );
        return this.#result;
      }
      this.#result.lastCheckpointed = Math.max(this.#result.lastCheckpointed, rec.seq - 1);
    }
    return this.#result;
  }
}
