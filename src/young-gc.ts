// Bounds the memory that large transfers leave behind. A 1 GiB upload or download makes about
// 2 GiB of short-lived buffers (request chunks, segments as the store returns them, output
// batches). V8 frees such buffers only in a young-generation collection, which it starts on its
// own once 32 MB of them have piled up (twice its default semi-space size; no flag changes it), so
// a server streaming at full speed sits 32 MB above its resting size plus what the allocator keeps.
// The streaming code tells this collector how many bytes of such buffers it has let go of; after
// every `everyBytes` it asks V8 for a young collection, which finds almost nothing alive and takes
// a fraction of a millisecond. Measured: see docs/OPERATIONS.md, "Memory".
import { type Collect, v8Collector } from "./v8-gc.js";

export class YoungCollector {
  #pending = 0;
  /** Young collections asked for so far (for tests and metrics). */
  collections = 0;
  readonly #collect: Collect | null;

  readonly #everyBytes: number;

  /** `everyBytes` 0 leaves collection to V8 alone. */
  constructor(everyBytes: number) {
    this.#everyBytes = everyBytes;
    this.#collect = everyBytes > 0 ? v8Collector() : null;
  }

  /** Whether this collector acts (a threshold was set and V8's collector is available). */
  get active(): boolean {
    return this.#collect !== null;
  }

  /** Notes `bytes` of transfer buffers just let go of; collects once enough have piled up. */
  released(bytes: number): void {
    if (!this.#collect) return;
    this.#pending += bytes;
    if (this.#pending < this.#everyBytes) return;
    this.#pending = 0;
    this.collections++;
    this.#collect({ type: "minor" });
  }
}

/** A collector that never collects, for code run outside the server (CLI, tools). */
export const NO_YOUNG_GC = new YoungCollector(0);
