// The end of a server process, after a signal (main.ts) or an order of the primary (cluster.ts):
// let in-flight requests finish and the stores close, then exit 0 (1 if requests had to be cut or
// a store failed to close), and never live past the deadline plus a grace for a store that hangs.
import type { Logger } from "pino";
import type { RunningServer } from "./main.js";

/** After the deadline cut every request, closing the stores gets this long before the process gives up. */
export const HARD_EXIT_GRACE_MS = 10_000;

export function closeAndExit(server: RunningServer, logger: Logger): void {
  setTimeout(() => {
    logger.fatal("shutdown did not finish in time; exiting");
    process.exit(1);
  }, server.shutdownTimeoutMs + HARD_EXIT_GRACE_MS).unref();
  server.close().then(
    (r) => process.exit(r.clean ? 0 : 1),
    (err) => {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    },
  );
}
