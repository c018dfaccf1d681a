// Watches the free space of the data directory's volume for the embedded store: the reserve
// (SSE_MIN_FREE_BYTES) that uploads may not enter, the emergency space kept for deletes once the
// disk is full anyway, and the state /ready and /metrics report. statfs is asked at most once a
// second; writes in flight are counted in between (storage-reserve.ts). On PostgreSQL the data lives
// on the database server: ObservedSpace only reports what the database said (53100 disk_full).
import { stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import { FailureLog } from "../failure-log.js";
import {
  defaultReserveBytes,
  type SpaceClaim,
  type SpaceGuard,
  SpaceLedger,
  type SpaceReason,
  type SpaceSnapshot,
  type SpaceState,
  type SpaceStatus,
  type WriteClass,
} from "../objects/storage-reserve.js";
import type { EmergencySpace } from "./sqlite/emergency-space.js";
import { BACKUP_HOLD_FILE } from "./sqlite/write-data.js";

/** How long a statfs answer is trusted. */
export const SPACE_REFRESH_MS = 1000;

/** A backup hold older than this has most likely been forgotten: it is logged, at warn. */
export const BACKUP_HOLD_WARN_MS = 24 * 60 * 60 * 1000;

/** What the embedded store tells about objects.db (sqlite/open.ts): free pages, WAL, checkpoint. */
export interface StoreSpaceUse {
  spaceUse(): { reusable: number; journal: number };
  readonly checkpointFailing: boolean;
}

export interface DiskSpaceOptions {
  dir: string;
  /** SSE_MIN_FREE_BYTES; undefined: the larger of 1 GiB and 2 % of the volume. */
  reserve: number | undefined;
  store: StoreSpaceUse;
  emergency: EmergencySpace | null;
  logger: Logger;
  now?: () => number;
}

const NO_CLAIM: SpaceClaim = { add() {}, end() {} };

export class DiskSpace implements SpaceGuard, SpaceStatus {
  readonly volume = true;
  readonly #opts: DiskSpaceOptions;
  readonly #now: () => number;
  readonly #ledger: SpaceLedger;
  #reserveKnown: boolean;
  #volume = 0;
  #at = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | null = null;
  /** A write found the disk full; cleared once the volume has room again. */
  #full = false;
  readonly #belowReserve: FailureLog;
  readonly #diskFull: FailureLog;
  readonly #lookFailures: FailureLog;
  readonly #staleHold: FailureLog;
  /** When the backup hold file was made (its mtime), or null when there is none. */
  #holdSince: number | null = null;

  constructor(opts: DiskSpaceOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#ledger = new SpaceLedger(opts.reserve ?? 0);
    this.#reserveKnown = opts.reserve !== undefined;
    this.#belowReserve = new FailureLog(opts.logger, "free space", {
      now: this.#now,
      messages: {
        failed:
          "free space is below the reserve (SSE_MIN_FREE_BYTES): uploads are refused with 507 until space is freed; reads, deletes and small writes go on",
        still: "free space is still below the reserve: uploads refused",
        recovered: "free space is above the reserve again: uploads are accepted",
      },
    });
    this.#diskFull = new FailureLog(opts.logger, "disk", {
      now: this.#now,
      messages: {
        failed:
          "the disk is full: writes fail, uploads are refused with 507; deletes use the emergency space. Writes resume by themselves once space is freed",
        still: "the disk is still full",
        recovered: "the disk has room again: writes are accepted",
      },
    });
    this.#lookFailures = new FailureLog(opts.logger, "looking at the free space of the data directory");
    // Warn, not error: the server works; only space is kept back. Repeated once an hour.
    this.#staleHold = new FailureLog(
      { error: opts.logger.warn.bind(opts.logger), info: opts.logger.info.bind(opts.logger) },
      "backup hold",
      {
        now: this.#now,
        summaryEveryMs: 60 * 60 * 1000,
        messages: {
          failed:
            "the backup hold (backup-hold in the data directory) has been in place for over a day: replaced and deleted data keeps its space until the file is removed; remove it if no backup is running (docs/OPERATIONS.md, Backup and restore)",
          still: "the backup hold is still in place: replaced and deleted data keeps its space",
          recovered: "the backup hold is lifted or renewed",
        },
      },
    );
    opts.emergency?.onRelease(() => this.diskFull());
  }

  get reserve(): number {
    return this.#ledger.reserve;
  }

  /** First look at the volume (the default reserve needs its size), and the emergency space set aside. */
  async start(): Promise<void> {
    await this.refresh();
    const { emergency } = this.#opts;
    const snap = this.#ledger.snapshot;
    if (emergency && !emergency.held && snap && snap.available >= 2 * emergency.bytes) {
      if (!(await emergency.restore()))
        this.#opts.logger.warn({ bytes: emergency.bytes }, "no room to set the emergency space aside");
    }
  }

  async admit(cls: WriteClass, declared: number | undefined): Promise<SpaceClaim> {
    await this.#fresh();
    if (this.#full && cls === "upload") {
      this.#diskFull.failed(undefined);
      throw new AppError(
        "insufficient_storage",
        "the disk is full: nothing was stored; reads and deletes still work, uploads resume once space is freed",
      );
    }
    let claim: SpaceClaim;
    try {
      claim = this.#ledger.claim(cls, declared);
    } catch (err) {
      this.#noteRefusal();
      throw err;
    }
    return {
      add: (bytes) => {
        // A long upload looks at the volume again as it goes, without waiting for the answer.
        if (this.#now() - this.#at >= SPACE_REFRESH_MS) void this.refresh().catch(() => undefined);
        try {
          claim.add(bytes);
        } catch (err) {
          this.#noteRefusal();
          throw err;
        }
      },
      end: () => claim.end(),
    };
  }

  /** A refusal is counted in the state's summary when the space is below the reserve, not when one upload is too large for what is left. */
  #noteRefusal(): void {
    if (!this.#ledger.writable) this.#belowReserve.failed(undefined, this.#fields());
  }

  diskFull(): void {
    // No figures: the last look at the volume is older than the write that just failed.
    if (!this.#full) this.#diskFull.failed(undefined);
    this.#full = true;
    void this.refresh().catch(() => undefined);
  }

  stored(): void {}

  async current(): Promise<SpaceState> {
    await this.#fresh().catch(() => undefined);
    const snap = this.#ledger.snapshot;
    const reason: SpaceReason = this.#full ? "disk_full" : this.#ledger.writable ? "ok" : "below_reserve";
    return {
      writable: reason === "ok",
      reason,
      availableBytes: snap?.available ?? null,
      reusableBytes: snap?.reusable ?? null,
      reserveBytes: this.#reserveKnown ? this.#ledger.reserve : null,
      backupHoldSeconds:
        this.#holdSince === null ? null : Math.max(0, Math.floor((this.#now() - this.#holdSince) / 1000)),
    };
  }

  /** Looks at the volume now (single flight); also where a full disk is found to have room again. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#look()
      .then(
        () => this.#lookFailures.succeeded(),
        (err) => {
          this.#lookFailures.failed(err);
          throw err;
        },
      )
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  async #fresh(): Promise<void> {
    if (this.#now() - this.#at >= SPACE_REFRESH_MS) await this.refresh();
  }

  async #look(): Promise<void> {
    const fs = await statfs(this.#opts.dir);
    const use = this.#opts.store.spaceUse();
    const snap: SpaceSnapshot = {
      available: fs.bavail * fs.bsize,
      reusable: use.reusable,
      journal: use.journal,
      journaled: true,
    };
    this.#at = this.#now();
    this.#volume = fs.blocks * fs.bsize;
    if (!this.#reserveKnown) {
      this.#ledger.reserve = defaultReserveBytes(this.#volume);
      this.#reserveKnown = true;
    }
    this.#ledger.update(snap);
    if (this.#ledger.writable) this.#belowReserve.succeeded(this.#fields());
    else if (!this.#belowReserve.failing) this.#belowReserve.failed(undefined, this.#fields());
    if (this.#full) await this.#maybeRecovered(snap);
    await this.#lookAtHold();
  }

  /** The backup hold keeps every replaced and deleted write's space: one left behind is worth a warning. */
  async #lookAtHold(): Promise<void> {
    const file = path.join(this.#opts.dir, BACKUP_HOLD_FILE);
    const since = await stat(file).then(
      (st) => st.mtimeMs,
      () => null,
    );
    this.#holdSince = since;
    const age = since === null ? 0 : this.#now() - since;
    if (age > BACKUP_HOLD_WARN_MS)
      this.#staleHold.failed(undefined, { file, heldForHours: Math.floor(age / 3_600_000) });
    else this.#staleHold.succeeded({ file });
  }

  /** The disk had filled: room again once the checkpoint works and the emergency space is set aside again. */
  async #maybeRecovered(snap: SpaceSnapshot): Promise<void> {
    const { emergency, store } = this.#opts;
    if (store.checkpointFailing) return;
    const needed = 2 * (emergency?.bytes ?? 0);
    if (snap.available < needed) return;
    if (emergency && !(await emergency.restore())) return;
    this.#full = false;
    this.#diskFull.succeeded(this.#fields());
  }

  #fields(): Record<string, unknown> {
    const snap = this.#ledger.snapshot;
    return {
      availableBytes: snap?.available,
      reusableBytes: snap?.reusable,
      reserveBytes: this.#ledger.reserve,
      uploadsInFlightBytes: this.#ledger.pending,
    };
  }
}

/** PostgreSQL: no volume of ours to watch; a disk_full answer of the database marks writes as failing until one succeeds. */
export class ObservedSpace implements SpaceGuard, SpaceStatus {
  readonly volume = false;
  #full = false;
  readonly #log: FailureLog;

  constructor(logger: Logger) {
    this.#log = new FailureLog(logger, "database disk", {
      messages: {
        failed: "the database server's disk is full (53100): writes fail with 507 until it has room",
        still: "the database server's disk is still full",
        recovered: "the database server accepts writes again",
      },
    });
  }

  async admit(): Promise<SpaceClaim> {
    return NO_CLAIM;
  }

  diskFull(): void {
    this.#full = true;
    this.#log.failed(undefined);
  }

  stored(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#log.succeeded();
  }

  async current(): Promise<SpaceState> {
    return {
      writable: !this.#full,
      reason: this.#full ? "disk_full" : "ok",
      availableBytes: null,
      reusableBytes: null,
      reserveBytes: null,
      backupHoldSeconds: null,
    };
  }
}
