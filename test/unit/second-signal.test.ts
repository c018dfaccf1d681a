// The operator's second shutdown signal is told from copies of the first by when it arrives: copies
// relayed by parent processes come within the quiet period, a deliberate second one after it.
import { describe, expect, it } from "vitest";
import { SIGNAL_QUIET_PERIOD_MS, signalClassifier } from "../../src/second-signal.js";

describe("signalClassifier", () => {
  it("takes the first signal as the request to drain", () => {
    expect(signalClassifier()(12_345)).toBe("first");
  });

  it("takes signals within the quiet period after the first for copies, however many", () => {
    const classify = signalClassifier(1000);
    expect(classify(5000)).toBe("first");
    expect([5000, 5002, 5030, 5999.9].map(classify)).toEqual(["copy", "copy", "copy", "copy"]);
  });

  it("takes a signal once the quiet period has passed for the operator's second, and every later one", () => {
    const classify = signalClassifier(1000);
    classify(5000);
    classify(5010);
    expect(classify(6000)).toBe("second");
    // Measured from the first signal: copies of the second are seconds too (the cut is idempotent).
    expect(classify(6001)).toBe("second");
    expect(classify(60_000)).toBe("second");
  });

  it("waits about a second by default: longer than any relay, shorter than a person's patience", () => {
    expect(SIGNAL_QUIET_PERIOD_MS).toBeGreaterThanOrEqual(500);
    expect(SIGNAL_QUIET_PERIOD_MS).toBeLessThanOrEqual(2000);
    const classify = signalClassifier();
    classify(0);
    expect(classify(SIGNAL_QUIET_PERIOD_MS - 1)).toBe("copy");
    expect(classify(SIGNAL_QUIET_PERIOD_MS)).toBe("second");
  });
});
