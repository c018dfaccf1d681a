// Tells the operator's second SIGTERM/SIGINT ("cut the requests still open") from copies of the
// first one. A signal sent to a process group (Ctrl-C in a terminal, systemd's default
// KillMode=control-group, `kill -- -PGID`, most supervisors) reaches the server directly and once
// more through every parent that relays it (npm, the tsx CLI): two or three deliveries of one
// request to stop, all within milliseconds of each other.

/**
 * How long after the first signal a repeated one is taken for a relayed copy of it. Relays arrive
 * within milliseconds (tens of them on a loaded machine); a person signalling twice on purpose
 * takes longer than a second, and waits at most this long for the cut.
 */
export const SIGNAL_QUIET_PERIOD_MS = 1000;

/** first: begin the graceful shutdown; copy: a relay of the first, ignore it; second: cut. */
export type SignalVerdict = "first" | "copy" | "second";

/**
 * Returns the classifier of one process's shutdown signals, fed their arrival times in
 * milliseconds on a monotonic clock (performance.now(): wall-clock steps must not matter).
 */
export function signalClassifier(quietPeriodMs = SIGNAL_QUIET_PERIOD_MS): (nowMs: number) => SignalVerdict {
  let first: number | undefined;
  return (nowMs) => {
    if (first === undefined) {
      first = nowMs;
      return "first";
    }
    return nowMs - first < quietPeriodMs ? "copy" : "second";
  };
}
