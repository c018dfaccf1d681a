// Reads hold the write they stream from: the reclaimer, which removes the segments of replaced and
// deleted writes, leaves held writes alone until their last reader lets go.
import type { BackgroundReport } from "../failure-log.js";
import type { ObjectStore } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";

export class ReadHolds {
  /** writeId hex → number of streams reading it. */
  readonly #readers = new Map<string, number>();
  /** Live view of the keys of #readers, consulted by the reclaimer while it runs. */
  readonly #busy = new Set<string>();
  #reclaiming: Promise<void> | null = null;
  #reclaimAgain = false;
  /** Whether replaced or deleted writes may be waiting; a release then need not ask (hot path). */
  #trashPending = true;
  readonly #store: Pick<ObjectStore, "reclaim">;
  /** Reclaim failures, logged without flooding. */
  readonly #report: BackgroundReport;

  constructor(store: Pick<ObjectStore, "reclaim">, report: BackgroundReport) {
    this.#store = store;
    this.#report = report;
  }

  /** How many writes reads hold now. */
  get held(): number {
    return this.#readers.size;
  }

  /** The reclaim under way, if any (settle waits for it). */
  get reclaiming(): Promise<void> | null {
    return this.#reclaiming;
  }

  /**
   * Marks a write as being read, before any await, so that a replace committed meanwhile cannot
   * reclaim its segments. Returns the release function (idempotent).
   */
  hold(meta: ObjectMeta): () => void {
    const key = meta.writeId.toString("hex");
    this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
    this.#busy.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#readers.get(key) ?? 1) - 1;
      if (n <= 0) {
        this.#readers.delete(key);
        this.#busy.delete(key);
      } else this.#readers.set(key, n);
      if (this.#trashPending) this.scheduleReclaim();
    };
  }

  /** Removes the segments of replaced and deleted writes that nobody is reading any more. */
  scheduleReclaim(): void {
    this.#trashPending = true;
    if (this.#reclaiming) {
      this.#reclaimAgain = true;
      return;
    }
    this.#reclaiming = (async () => {
      do {
        this.#reclaimAgain = false;
        // Writes being read are skipped and stay pending until their last reader lets go.
        const skipped = this.#busy.size;
        await this.#store.reclaim(this.#busy);
        if (skipped === 0 && !this.#reclaimAgain) this.#trashPending = false;
      } while (this.#reclaimAgain);
    })()
      .then(
        () => this.#report.succeeded("reclaim"),
        (err) => this.#report.failed("reclaim", err),
      )
      .finally(() => {
        this.#reclaiming = null;
      });
  }
}
