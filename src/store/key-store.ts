// The port of wrapped keys, kept in a database of their own (keys.db, schema sse_keys) so that
// restoring objects never restores a key. Adapters implement it and pass
// test/contract/keys.contract.ts.
import type { KekRewrap, KekVersionRecord, UserKeyState } from "./records.js";

export interface KeyStore {
  /** Creates the user's key with its first version. */
  createUserKey(state: UserKeyState, first: KekVersionRecord): Promise<void>;
  getUserKeyState(owner: string): Promise<UserKeyState | null>;
  listKekVersions(owner: string): Promise<KekVersionRecord[]>;
  getKekVersion(owner: string, version: number): Promise<KekVersionRecord | null>;
  /** Adds a version and makes it primary. */
  addKekVersion(rec: KekVersionRecord): Promise<void>;
  /**
   * Retirement, in one transaction: raises the minimum decryption version to `version` (never
   * lowers it) and erases every version below it (secure_delete where possible). Throws not_found
   * when the user has no key.
   */
  retireKekVersionsBelow(owner: string, version: number): Promise<void>;
  /**
   * Root rotation: replaces the wrapping of each listed version, all in one transaction (one
   * fsync for a page of versions). A version that no longer exists (its user was deleted
   * meanwhile) is skipped.
   */
  rewrapKekVersions(rewraps: readonly KekRewrap[]): Promise<void>;
  /** All KEK versions wrapped by a root version other than `rootVersion`, a page at a time. */
  kekVersionsNotWrappedBy(rootVersion: number, limit: number): Promise<KekVersionRecord[]>;
  /** How many KEK versions kekVersionsNotWrappedBy would list in all (root rotation progress). */
  countKekVersionsNotWrappedBy(rootVersion: number): Promise<number>;
  /** Crypto-shredding: every version of the user's key, erased (secure_delete where possible). */
  destroyUserKeys(owner: string): Promise<void>;
}
