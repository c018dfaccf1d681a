// The assertions the contract suites and their runners share.
import { expect } from "vitest";
import { AppError } from "../../src/errors.js";

/** Compares segment lists by bytes (deep equality on large Buffers is slow). */
export function expectSegments(got: Buffer[], want: Buffer[]): void {
  expect(got.map((b) => b.length)).toEqual(want.map((b) => b.length));
  for (const [i, b] of got.entries()) expect(b.equals(want[i]!), `segment ${i} differs`).toBe(true);
}

/** Awaits a rejection and checks it is an AppError with this code (shared by the contract suites). */
export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with code ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}
