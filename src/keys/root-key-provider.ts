// The root of the key hierarchy. A provider holds the root key (a file, a passphrase-sealed file,
// an HSM) and wraps/unwraps key-encryption keys with it. The root key never leaves a provider;
// callers only see wrapped blobs tagged with the root version that made them.
import type { Logger } from "pino";
import type { Config } from "../config.js";

export interface RootWrapped {
  /** Root-key version that produced `blob`; authenticated inside the blob's AEAD. */
  rootVersion: number;
  blob: Buffer;
}

export interface RootKeyProvider {
  readonly name: string;
  /**
   * Loads or creates the root key and runs a self-test (wrap + unwrap). Throws an Error whose
   * message is one clear line (no secret) when the provider cannot be used; the server then
   * refuses to start.
   */
  open(): Promise<void>;
  /** Version that new wraps use. */
  primaryVersion(): number;
  /** Versions that can still unwrap, ascending. */
  versions(): number[];
  /** Wraps `key` under the primary version, bound to `ad`. */
  wrap(key: Buffer, ad: Buffer): Promise<RootWrapped>;
  /** Throws IntegrityError when the blob or `ad` was altered, KeyProviderError when unavailable. */
  unwrap(wrapped: RootWrapped, ad: Buffer): Promise<Buffer>;
  /** Creates a new root version and makes it primary; returns it. */
  rotate(): Promise<number>;
  /** Destroys a non-primary version once nothing is wrapped by it. */
  retire(version: number): Promise<void>;
  /** Quick health check for /ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ProviderContext {
  config: Config;
  logger: Logger;
}
