// Runs async tasks one at a time per key, in call order, within this process; tasks of different
// keys run side by side. A failing task does not stop the ones queued after it.
export class KeyedQueue {
  /** The last task of each key (settled, never rejecting), which the next one waits for. */
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
