// The port of the audit log: one chain of records (src/audit/record.ts), appended by any number
// of processes on one store, read back by filters and in sequence order, and pruned from its
// start. Adapters implement it and pass test/contract/audit.contract.ts.
import type { ChainHead, SealedRecord } from "../audit/record.js";

export interface AuditFilter {
  /** Records at or after this time (ms since the epoch). */
  since?: number;
  /** Records before this time. */
  until?: number;
  /** The actor's uid. */
  actor?: string;
  /** The action, exactly ("object.write"), or a prefix ending in "." ("object."). */
  action?: string;
  /** The target's owner uid. */
  owner?: string;
  /** Records whose actor or target owner is this uid (a user's own view). */
  involving?: string;
  /** Records after this sequence number (paging). */
  afterSeq?: number;
  limit: number;
}

export interface AuditStore {
  /**
   * Appends one record after the head of the chain, in one transaction that no other append (of
   * this or another process) interleaves: `seal` runs synchronously with the head it follows and
   * returns the record. Durable at resolve unless `relaxed` (then the next durable write of the
   * database hardens it). Throws StorageUnavailableError when it could not be written.
   */
  append(seal: (head: ChainHead) => SealedRecord, opts?: { relaxed?: boolean }): Promise<SealedRecord>;
  /** The last record's sequence number and hash (EMPTY_HEAD when the log is empty). */
  head(): Promise<ChainHead>;
  /** Matching records in ascending sequence order, at most `limit`. */
  find(filter: AuditFilter): Promise<SealedRecord[]>;
  /** Records with a sequence number from `fromSeq` on, ascending, at most `limit`. */
  range(fromSeq: number, limit: number): Promise<SealedRecord[]>;
  /** The stored hash of record `seq`, or null when it is not there. */
  hashOf(seq: number): Promise<string | null>;
  /** Removes every record before `beforeSeq` (retention); returns how many. */
  pruneBefore(beforeSeq: number): Promise<number>;
}
