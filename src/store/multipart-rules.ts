// What both adapters' multipart ports answer alike: their errors, and the check of the part list a
// completion names (the domain checks it first; this keeps a bad list from reaching a constraint).
import { AppError } from "../errors.js";

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
