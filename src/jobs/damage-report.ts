// What a job found unreadable: each damaged object with the reason, kept in the job's result so
// that it survives a restart. The list is capped; the count is not.
import { AppError } from "../errors.js";

/** Listed entries at most; beyond it only `damagedCount` grows. */
export const MAX_LISTED = 1000;

export interface DamagedObject {
  /** The owner's user name. */
  owner: string;
  id: string;
  /** Error code and detail, as a client would see them. */
  error: string;
}

export interface DamageResult {
  damaged: DamagedObject[];
  damagedCount: number;
  /** True when more objects were damaged than are listed. */
  truncated: boolean;
}

export class DamageReport {
  readonly #damaged: DamagedObject[];
  #count: number;

  constructor(saved?: DamageResult) {
    this.#damaged = saved ? [...saved.damaged] : [];
    this.#count = saved?.damagedCount ?? 0;
  }

  /** Resumes the report kept in a job's result (JSON text), or starts an empty one. */
  static fromJson(text: string | null): DamageReport {
    if (!text) return new DamageReport();
    const saved = JSON.parse(text) as Partial<DamageResult>;
    if (!Array.isArray(saved.damaged)) return new DamageReport();
    return new DamageReport({
      damaged: saved.damaged,
      damagedCount: saved.damagedCount ?? 0,
      truncated: false,
    });
  }

  add(owner: string, id: string, err: unknown): void {
    this.#count++;
    if (this.#damaged.length < MAX_LISTED) this.#damaged.push({ owner, id, error: describeError(err) });
  }

  get size(): number {
    return this.#count;
  }

  toJSON(): DamageResult {
    return {
      damaged: this.#damaged,
      damagedCount: this.#count,
      truncated: this.#count > this.#damaged.length,
    };
  }
}

/** `code: detail` for errors meant for clients; a bare `internal_error` for anything else. */
export function describeError(err: unknown): string {
  if (err instanceof AppError) return err.detail ? `${err.code}: ${err.detail}` : err.code;
  return "internal_error";
}
