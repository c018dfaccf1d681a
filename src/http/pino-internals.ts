// The one place that reads pino's private state: the root logger's destination stream and its
// serialized bindings, so that request-log.ts can write its most common line directly (~40 µs a
// line saved). pino is pinned to an exact version; test/unit/library-internals.test.ts fails if an
// upgrade moves either.
import pino, { type Logger } from "pino";

/** Where a root logger writes, and its bindings as pino serializes them: `,"pid":…,"hostname":"…"`. */
export interface PinoDestination {
  stream: { write(line: string): unknown };
  chindings: string;
}

/** The logger's destination and bindings, or null where pino no longer keeps them where we read them. */
export function pinoDestination(logger: Logger): PinoDestination | null {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as PinoDestination["stream"] | undefined;
  const chindings = internals[pino.symbols.chindingsSym];
  if (!stream || typeof stream.write !== "function" || typeof chindings !== "string") return null;
  return { stream, chindings };
}
