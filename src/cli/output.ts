// Results go to stdout, as text for people or as one JSON document with --json; notes go to stderr.
import type { CliDeps, WritableLike } from "./context.js";

/** Writes and waits for 'drain' when the pipe is full, so large listings keep memory flat. */
export function writeWithBackpressure(stream: WritableLike, text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => reject(err);
    stream.once("error", onError);
    const ok = stream.write(text);
    const done = () => {
      stream.removeListener("error", onError);
      resolve();
    };
    if (ok) done();
    else stream.once("drain", done);
  });
}

export class Output {
  readonly #deps: Pick<CliDeps, "stdout" | "stderr">;

  constructor(
    deps: Pick<CliDeps, "stdout" | "stderr">,
    readonly json: boolean,
  ) {
    this.#deps = deps;
  }

  write(text: string): Promise<void> {
    return writeWithBackpressure(this.#deps.stdout, text);
  }

  /** Prints `value` as JSON with --json, else the human text (a line or lines). */
  async result(value: unknown, human: string | string[] | (() => string | string[])): Promise<void> {
    if (this.json) {
      await this.write(`${JSON.stringify(value)}\n`);
      return;
    }
    const h = typeof human === "function" ? human() : human;
    const lines = Array.isArray(h) ? h : [h];
    if (lines.length) await this.write(`${lines.join("\n")}\n`);
  }

  /** A remark for people (skipped with --json, where stdout carries the result and stderr only errors). */
  note(line: string): void {
    if (!this.json) this.#deps.stderr.write(`${line}\n`);
  }
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string[] {
  const all = header ? [header, ...rows] : [...rows];
  const widths: number[] = [];
  for (const r of all) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return all.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** ISO text for a date-ish value, or "-". */
export function formatDate(v: unknown): string {
  if (v === undefined || v === null || v === "") return "-";
  const d = new Date(v as string | number);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
