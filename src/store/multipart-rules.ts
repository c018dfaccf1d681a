// What both adapters' multipart ports answer alike: their errors, and the checks of what a completion
// names (the domain checks the part list first; this keeps a bad list from reaching a constraint).
import { AppError } from "../errors.js";
import type { ObjectMeta } from "./records.js";

export const uploadMissing = () => new AppError("not_found", "the multipart upload does not exist");

export const partReplaced = (n: number) =>
  new AppError(
    "conflict",
    `part ${n} is not the upload's current part ${n}: it was replaced or never committed`,
  );

/** Part numbers strictly ascending (each named once), else invalid_part_order. */
export function checkPartList(parts: readonly { number: number }[]): void {
  for (let i = 1; i < parts.length; i++)
    if (!(parts[i]!.number > parts[i - 1]!.number))
      throw new AppError("invalid_part_order", "parts must be listed once each, in ascending order");
}

/** The upload a completion names must exist and be this object's write, else not_found. */
export function checkUploadFor(
  up: { owner: string; id: string; write_id: Buffer } | undefined,
  meta: ObjectMeta,
): void {
  if (!up || up.owner !== meta.owner || up.id !== meta.id) throw uploadMissing();
  if (!up.write_id.equals(meta.writeId))
    throw new Error("completeMultipart: the object's write id is not the upload's");
}

/**
 * Every part a completion names must be the upload's current part of that number (else conflict);
 * the write ids of the upload's parts it does not name, which never become readable.
 */
export function unnamedParts(
  current: readonly { number: number; write_id: Buffer }[],
  parts: readonly { number: number; writeId: Buffer }[],
): Buffer[] {
  const unused = new Map(current.map((r) => [r.number, r.write_id]));
  for (const p of parts) {
    if (!unused.get(p.number)?.equals(p.writeId)) throw partReplaced(p.number);
    unused.delete(p.number);
  }
  return [...unused.values()];
}
