// The reserve of free space (SSE_MIN_FREE_BYTES): uploads are refused before they would bring the
// free space below it, so that deletes, key and token changes and small items always have room.
// Free space is the data directory's volume's, plus the free pages inside the database file, which
// new data fills first (so deleting objects makes room even where the file does not shrink). Pure arithmetic over a snapshot of the volume; disk-space.ts
// takes the snapshots, ObjectService asks before and while it stores.
import { AppError } from "../errors.js";

export const GiB = 1024 ** 3;
/** The default reserve: the larger of 1 GiB and 2 % of the volume. */
export const DEFAULT_RESERVE_MIN_BYTES = GiB;
export const DEFAULT_RESERVE_FRACTION = 0.02;

export function defaultReserveBytes(volumeBytes: number): number {
  return Math.max(DEFAULT_RESERVE_MIN_BYTES, Math.ceil(volumeBytes * DEFAULT_RESERVE_FRACTION));
}

/** What the volume and the store's files look like at one moment. */
export interface SpaceSnapshot {
  /** Bytes the filesystem still gives the server (statfs: available blocks × block size). */
  available: number;
  /** Free pages inside the database file, which writes fill before the file grows. */
  reusable: number;
  /** Write-ahead log already on disk, which writes reuse from its start once it is checkpointed. */
  journal: number;
  /** Whether stored bytes are written twice: to the write-ahead log, then to the database (SQLite). */
  journaled: boolean;
}

/** Growth of the write-ahead log for `bytes` more: beyond the log already on disk, where there is one. */
export function logGrowth(snap: SpaceSnapshot, bytes: number): number {
  return snap.journaled ? Math.max(0, bytes - snap.journal) : 0;
}

/**
 * Free space for data once `bytes` more are stored: the volume's free bytes and the free pages
 * inside the database (where deleted objects' space goes), less the bytes and, when journaled, the
 * log's growth (a large upload fills the log faster than it is checkpointed, so it briefly needs
 * its size twice). This is what the reserve is kept in.
 */
export function freeAfter(snap: SpaceSnapshot, bytes: number): number {
  return snap.available + snap.reusable - bytes - logGrowth(snap, bytes);
}

/** The volume's own free bytes once `bytes` more are stored: what the free pages cannot take, and the log's growth. */
export function volumeAfter(snap: SpaceSnapshot, bytes: number): number {
  return snap.available - Math.max(0, bytes - snap.reusable) - logGrowth(snap, bytes);
}

/**
 * Uploads may not use the reserve; small writes (an item of a few KiB) may use its upper half, so
 * that the seed's item API keeps working while uploads are refused; deletes, key and token changes
 * are never checked (they are small, and a delete makes room).
 */
export type WriteClass = "upload" | "small";

export function floorFor(cls: WriteClass, reserve: number): number {
  return cls === "upload" ? reserve : Math.floor(reserve / 2);
}

/** Bytes left above the floor of `cls` once `pending` bytes (other writes in flight) are stored. */
export function headroom(snap: SpaceSnapshot, reserve: number, pending: number, cls: WriteClass): number {
  return freeAfter(snap, pending) - floorFor(cls, reserve);
}

/**
 * Whether `bytes` more may be stored, with `pending` bytes of other writes on the way: the free
 * space stays at or above the floor, and the volume itself does not run out.
 */
export function admits(
  snap: SpaceSnapshot,
  reserve: number,
  pending: number,
  bytes: number,
  cls: WriteClass,
): boolean {
  const total = pending + bytes;
  return freeAfter(snap, total) >= floorFor(cls, reserve) && volumeAfter(snap, total) >= 0;
}

export function reserveRefusal(cls: WriteClass): AppError {
  return new AppError(
    "insufficient_storage",
    cls === "upload"
      ? "not enough free space: the upload would bring the free space below the server's reserve (SSE_MIN_FREE_BYTES); nothing was stored. Delete objects, or ask the operator to add space"
      : "not enough free space: the server's reserve (SSE_MIN_FREE_BYTES) is nearly used up; nothing was stored",
  );
}

/** One write's share of the space: what it declared, and what it has brought so far. */
export interface SpaceClaim {
  /** Counts `bytes` more of the body; throws 507 when a write without a declared length outgrows the space. */
  add(bytes: number): void;
  /** The write is over (stored, refused or failed): what it declared but did not bring is released. */
  end(): void;
}

/**
 * The writes in flight, against the last snapshot: a declared length is promised at admission,
 * and bytes that arrive after the snapshot count until the next snapshot sees them on disk. So
 * concurrent uploads cannot each take the same free space, and a streamed upload without a
 * declared length is stopped as it crosses the reserve.
 */
export class SpaceLedger {
  #snapshot: SpaceSnapshot | null = null;
  /** Declared bytes not yet received, over the open claims. */
  #promised = 0;
  /** Bytes received since the snapshot was taken. */
  #since = 0;

  constructor(public reserve: number) {}

  get snapshot(): SpaceSnapshot | null {
    return this.#snapshot;
  }

  /** Bytes on their way to the disk that the snapshot does not show yet. */
  get pending(): number {
    return this.#promised + this.#since;
  }

  /** A fresh snapshot shows what was received before it (near enough: a batch may still be in memory). */
  update(snap: SpaceSnapshot): void {
    this.#snapshot = snap;
    this.#since = 0;
  }

  /** Whether uploads are accepted now (an upload of zero bytes would be). */
  get writable(): boolean {
    return this.#snapshot === null || admits(this.#snapshot, this.reserve, this.pending, 0, "upload");
  }

  /** Admits a write that declares `declared` bytes (undefined: not known up front), or throws 507. */
  claim(cls: WriteClass, declared: number | undefined): SpaceClaim {
    const promised = declared ?? 0;
    if (this.#snapshot && !admits(this.#snapshot, this.reserve, this.pending, promised, cls))
      throw reserveRefusal(cls);
    this.#promised += promised;
    let outstanding = promised;
    let ended = false;
    return {
      add: (bytes) => {
        if (ended) return;
        const covered = Math.min(bytes, outstanding);
        const extra = bytes - covered;
        if (extra > 0 && this.#snapshot && !admits(this.#snapshot, this.reserve, this.pending, extra, cls))
          throw reserveRefusal(cls);
        outstanding -= covered;
        this.#promised -= covered;
        this.#since += bytes;
      },
      end: () => {
        if (ended) return;
        ended = true;
        this.#promised -= outstanding;
        outstanding = 0;
      },
    };
  }
}

export type SpaceReason = "ok" | "below_reserve" | "disk_full";

export interface SpaceState {
  /** Whether uploads are accepted. */
  writable: boolean;
  reason: SpaceReason;
  /** Free bytes of the volume (statfs: available to the server), null where no volume is watched. */
  availableBytes: number | null;
  /** Free pages inside the database file, which writes fill first. */
  reusableBytes: number | null;
  reserveBytes: number | null;
  /** How long the backup hold (`backup-hold` in the data directory) has been in place; null: none, or not watched. */
  backupHoldSeconds: number | null;
}

/** What /ready and /metrics read. */
export interface SpaceStatus {
  /** Whether a volume is watched (the embedded store), or only the database's answers (PostgreSQL). */
  readonly volume: boolean;
  /** The state, refreshed first when the last look is older than a second. */
  current(): Promise<SpaceState>;
}

/** What ObjectService asks before and while it stores (disk-space.ts on SQLite). */
export interface SpaceGuard {
  /** Admits a write of `declared` bytes (undefined: not known up front), or throws 507. */
  admit(cls: WriteClass, declared: number | undefined): Promise<SpaceClaim>;
  /** A write found the disk full (a DiskFullError): new uploads wait until there is room again. */
  diskFull(): void;
  /** A write was stored. */
  stored(): void;
}

const NO_CLAIM: SpaceClaim = { add() {}, end() {} };

/** No local volume to watch: everything is admitted, and the database says when it is full. */
export const NO_SPACE_GUARD: SpaceGuard = {
  admit: async () => NO_CLAIM,
  diskFull() {},
  stored() {},
};
