// /health and /ready: the public probes.
import { type Static, Type } from "typebox";
import { StringEnum } from "./fields.js";

/** Named checks and their state, e.g. `{"objects": "ok"}`. */
const Checks = (options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, string>>({
    type: "object",
    additionalProperties: { type: "string" },
    ...options,
  });

export const Health = Type.Object({
  status: Type.Optional(Type.String()),
  checks: Type.Optional(Checks()),
});
export type Health = Static<typeof Health>;

export const Ready = Type.Object({
  status: StringEnum(["ready"]),
  writable: Type.Boolean({
    description:
      "false while uploads are refused with 507: free space below the reserve (SSE_MIN_FREE_BYTES) or the disk full. Reads, deletes and small writes still work, so the server stays ready (200)",
  }),
  checks: Checks({ description: "objects, keys, keyProvider: ok; space: ok, below_reserve or disk_full" }),
});
export type Ready = Static<typeof Ready>;
