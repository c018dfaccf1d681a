// What other processes sharing the database must know of this one, renewed by a heartbeat: the
// uploads it is still writing (so that no sweep takes them for abandoned) and the trashed writes its
// readers still stream (read pins, so that no reclaim deletes them under the reader). All times
// that decide between processes are the database's clock.
import { randomBytes } from "node:crypto";
import type { PgDatabase } from "./pg-database.js";

export interface LivenessOptions {
  /**
   * How long a replaced or deleted write stays readable before any process may reclaim it (default
   * 5 min): time for readers in other processes to pin it. 0 gives single-process semantics.
   */
  trashGraceMs?: number;
  /** How often this process renews its uploads' heartbeats and its readers' pins (default 10 s). */
  heartbeatMs?: number;
  /** An upload whose heartbeat is older than this is abandoned (default 2 min). */
  uploadStaleMs?: number;
  /** Failures of the heartbeat, for the log. */
  onError?: (err: unknown, what: string) => void;
  /** The heartbeat succeeding again after a failure. */
  onRecovered?: (what: string) => void;
}

/** A duration as a PostgreSQL interval literal. */
export const interval = (ms: number) => `${Math.trunc(ms)} milliseconds`;

const hex = (b: Buffer) => b.toString("hex");

export class Liveness {
  /** This process's name in read_pins. */
  readonly reader = randomBytes(8).toString("hex");
  readonly graceMs: number;
  readonly staleMs: number;
  readonly #pinMs: number;
  readonly #db: PgDatabase;
  /** Uploads begun by this process and still open: their heartbeat is renewed, the sweep spares them. */
  readonly #uploads = new Map<string, Buffer>();
  /** The object service's live set of writes being read here (handed over by `reading`). */
  #reading: ReadonlySet<string> = new Set();
  readonly #heartbeat: NodeJS.Timeout;
  #stopped = false;

  /** Starts the heartbeat; throws when the timings could let a live upload or a pinned read go. */
  constructor(db: PgDatabase, opts: LivenessOptions = {}) {
    const every = opts.heartbeatMs ?? 10_000;
    this.graceMs = opts.trashGraceMs ?? 5 * 60_000;
    this.staleMs = opts.uploadStaleMs ?? 2 * 60_000;
    // Three beats: one late heartbeat does not drop a pin.
    this.#pinMs = 3 * every;
    // A pin must land before the grace period ends, and a live upload must beat before it looks stale.
    if (this.staleMs < 3 * every || (this.graceMs > 0 && this.graceMs < 2 * every))
      throw new Error(
        "the heartbeat must run at least twice within the grace period and thrice within the staleness threshold",
      );
    this.#db = db;
    const onError = opts.onError ?? (() => undefined);
    const recovered = opts.onRecovered ?? (() => undefined);
    // A fixed beat, failing or not: the other processes judge this one's uploads by it.
    this.#heartbeat = setInterval(() => {
      this.#beat().then(
        () => recovered("heartbeat"),
        (err) => onError(err, "heartbeat"),
      );
    }, every);
    this.#heartbeat.unref();
  }

  uploadBegun(writeId: Buffer): void {
    this.#uploads.set(hex(writeId), writeId);
  }

  uploadEnded(writeId: Buffer): void {
    this.#uploads.delete(hex(writeId));
  }

  /** The uploads this process is still writing. */
  liveUploads(): Buffer[] {
    return [...this.#uploads.values()];
  }

  /** Takes the live set of writes this process reads (kept pinned from now on) and pins them at once. */
  async reading(busy: ReadonlySet<string>): Promise<void> {
    this.#reading = busy;
    await this.#pin(busy);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
  }

  async #beat(): Promise<void> {
    if (this.#stopped) return;
    if (this.#uploads.size > 0) {
      await this.#db.query("UPDATE uploads SET heartbeat = now() WHERE write_id = ANY($1::bytea[])", [
        this.liveUploads(),
      ]);
    }
    await this.#pin(this.#reading);
  }

  /** Tells other processes which trashed writes this one still streams, so that they leave them. */
  async #pin(reading: ReadonlySet<string>): Promise<void> {
    if (reading.size === 0) return;
    const ids = [...reading].map((k) => Buffer.from(k, "hex"));
    await this.#db.query(
      `INSERT INTO read_pins (write_id, reader, pinned_until)
         SELECT write_id, $2, now() + $3::interval FROM trash WHERE write_id = ANY($1::bytea[])
       ON CONFLICT (write_id, reader) DO UPDATE SET pinned_until = EXCLUDED.pinned_until`,
      [ids, this.reader, interval(this.#pinMs)],
    );
  }
}
