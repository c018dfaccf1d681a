// The one place that turns on a V8 flag at run time: --expose-gc, read back through a fresh
// context so that `gc` never appears on the global object; young-gc.ts asks it for minor
// collections. test/unit/library-internals.test.ts fails if a Node upgrade takes it away.
import v8 from "node:v8";
import vm from "node:vm";

/** V8's collector, asked for one kind of collection. */
export type Collect = (options: { type: "minor" | "major" }) => void;

let cached: Collect | null | undefined;

/** V8's collector, without exposing `gc` on the global object: null where it cannot be had. */
export function v8Collector(): Collect | null {
  if (cached !== undefined) return cached;
  try {
    v8.setFlagsFromString("--expose-gc");
    const fn = vm.runInNewContext("gc") as unknown;
    cached = typeof fn === "function" ? (fn as Collect) : null;
  } catch {
    cached = null;
  }
  return cached;
}
