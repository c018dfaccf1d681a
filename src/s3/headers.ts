// The request's headers as the client sent them (Node's rawHeaders), indexed by lower-case name.
// Node's req.headers drops or merges repeated headers by its own rules; a signature covers every
// value, so the verifier and the body decoder read the same joined value that was signed.

export class HeaderIndex {
  readonly #map = new Map<string, string[]>();

  /** `raw` is Node's `req.rawHeaders`: name, value, name, value… */
  constructor(raw: readonly string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const list = this.#map.get(name);
      if (list) list.push(raw[i + 1]!);
      else this.#map.set(name, [raw[i + 1]!]);
    }
  }

  static fromObject(headers: Readonly<Record<string, string | readonly string[] | undefined>>): HeaderIndex {
    const raw: string[] = [];
    for (const [name, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      for (const value of typeof v === "string" ? [v] : v) raw.push(name, value);
    }
    return new HeaderIndex(raw);
  }

  /** A copy with more headers (for a presigned URL's x-amz-* query parameters, which stand for headers). */
  withAdded(pairs: readonly (readonly [string, string])[]): HeaderIndex {
    const copy = new HeaderIndex([]);
    for (const [name, list] of this.#map) copy.#map.set(name, [...list]);
    for (const [name, value] of pairs) {
      const lower = name.toLowerCase();
      const list = copy.#map.get(lower);
      if (list) list.push(value);
      else copy.#map.set(lower, [value]);
    }
    return copy;
  }

  has(name: string): boolean {
    return this.#map.has(name);
  }

  /** The value, repeated values trimmed and joined by "," exactly as SigV4 canonicalises them. */
  get(name: string): string | undefined {
    const list = this.#map.get(name);
    if (!list) return undefined;
    return list.length === 1 ? list[0]!.trim() : list.map((v) => v.trim()).join(",");
  }

  names(): IterableIterator<string> {
    return this.#map.keys();
  }
}
