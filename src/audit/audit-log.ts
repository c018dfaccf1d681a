// The audit log as the server uses it: events appended to the chain in the store, checkpoints
// signed every SSE_AUDIT_CHECKPOINT_SECONDS and at shutdown (also appended to SSE_AUDIT_EXPORT, a
// file outside the data directory), and the fail-closed rule: with SSE_AUDIT_REQUIRED an action
// whose event cannot be written is refused (503 audit_unavailable) before it changes anything.
import { appendFileSync, closeSync, fsyncSync, openSync } from "node:fs";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import type { KeyService } from "../keys/key-service.js";
import type { AuditFilter, AuditStore } from "../store/audit-store.js";
import { AUDIT_KEY_OWNER, AuditKeys, checkpointMessage } from "./audit-keys.js";
import { type EventDraft, parseBody, type SealedRecord, seal } from "./record.js";

export interface AuditOptions {
  /** Refuse an action whose event cannot be written (SSE_AUDIT_REQUIRED). */
  required: boolean;
  /** Record object reads and link downloads too (SSE_AUDIT_READS). */
  reads: boolean;
  /** Seconds between checkpoints (SSE_AUDIT_CHECKPOINT_SECONDS). */
  checkpointSeconds: number;
  /** JSON-lines file that every checkpoint is also appended to (SSE_AUDIT_EXPORT). */
  exportFile?: string;
}

/** The audit unavailable refusal: nothing was done. */
export function auditUnavailable(cause?: unknown): AppError {
  const err = new AppError(
    "audit_unavailable",
    "the audit log cannot be written, so the action was not carried out",
  );
  err.cause = cause;
  return err;
}

/** Loads the audit secret (creating it on first start) and derives the audit keys from it. */
export async function loadAuditKeys(keys: KeyService): Promise<AuditKeys> {
  try {
    await keys.state(AUDIT_KEY_OWNER, true);
  } catch (err) {
    if (!(err instanceof AppError && err.code === "key_destroyed")) throw err;
    // Another process (PostgreSQL) may create it at the same moment: then read theirs.
    await keys.createUserKey(AUDIT_KEY_OWNER).catch(async (e) => {
      await keys.state(AUDIT_KEY_OWNER, true).catch(() => Promise.reject(e));
    });
  }
  // The audit secret has one version for good: every checkpoint is signed by the same key.
  return keys.withKek(AUDIT_KEY_OWNER, 1, (secret) => new AuditKeys(secret));
}

export class AuditLog {
  readonly #store: AuditStore;
  readonly #keys: AuditKeys;
  readonly #logger: Logger;
  readonly opts: AuditOptions;
  #timer: NodeJS.Timeout | undefined;
  /** One line when writing starts failing (a full disk fails every request), then a summary a minute. */
  readonly #failures: FailureLog;
  /** Sequence number of the last checkpoint record this process wrote or found at the head. */
  #covered = 0;

  constructor(store: AuditStore, keys: AuditKeys, logger: Logger, opts: AuditOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#logger = logger;
    this.opts = opts;
    this.#failures = new FailureLog(logger, "writing the audit log");
  }

  get publicKey(): Buffer {
    return this.#keys.publicKey;
  }

  get keyId(): string {
    return this.#keys.keyId;
  }

  /** An object id as the log names it: HMAC'd with the audit key. */
  objectRef(id: string): string {
    return this.#keys.mac("object", id);
  }

  /**
   * Appends an event. A failure is logged (summarised while it lasts) and throws audit_unavailable
   * when the log is required; otherwise the action goes on. `relaxed`: hardened by the next durable write (an intent that
   * the action's own commit or its outcome event follows).
   */
  async record(draft: EventDraft, opts: { relaxed?: boolean } = {}): Promise<SealedRecord | null> {
    try {
      const rec = await this.#store.append((head) => seal(head, draft, new Date()), opts);
      this.#failures.succeeded();
      return rec;
    } catch (err) {
      this.#failures.failed(err, { action: draft.action });
      if (this.opts.required) throw auditUnavailable(err);
      return null;
    }
  }

  /**
   * Writes a signed checkpoint of the head, unless the head is a checkpoint already: one that
   * another process sharing the log wrote is exported as this process's own (so an idle cluster
   * does not add a checkpoint per process every period, each signing the one before).
   */
  async checkpoint(): Promise<SealedRecord | null> {
    const head = await this.#store.head();
    if (head.seq === 0 || head.seq === this.#covered) return null;
    const [last] = await this.#store.range(head.seq, 1);
    if (last && parseBody(last.body)?.kind === "checkpoint") {
      this.#covered = last.seq;
      if (this.opts.exportFile) this.#export(last);
      return null;
    }
    const rec = await this.#store.append((h) => {
      const at = new Date();
      const time = at.toISOString();
      return seal(
        h,
        {
          kind: "checkpoint",
          action: "audit.checkpoint",
          outcome: "ok",
          checkpoint: {
            seq: h.seq,
            hash: h.hash,
            key: this.#keys.keyId,
            sig: this.#keys.sign(checkpointMessage(h.seq, h.hash, time)),
          },
        },
        at,
      );
    });
    this.#covered = rec.seq;
    if (this.opts.exportFile) this.#export(rec);
    return rec;
  }

  #export(rec: SealedRecord): void {
    const line = `${JSON.stringify({ seq: rec.seq, hash: rec.hash, body: rec.body })}\n`;
    const fd = openSync(this.opts.exportFile!, "a", 0o600);
    try {
      appendFileSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Checkpoints every checkpointSeconds from now on. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.checkpoint().catch((err) => this.#logger.error({ err }, "the audit checkpoint failed"));
    }, this.opts.checkpointSeconds * 1000);
    this.#timer.unref();
  }

  /** Stops the timer and writes the shutdown checkpoint. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      await this.checkpoint();
    } catch (err) {
      this.#logger.error({ err }, "the shutdown audit checkpoint failed");
    }
  }

  find(filter: AuditFilter): Promise<SealedRecord[]> {
    return this.#store.find(filter);
  }
}
