// The one rule of If-None-Match: * and If-Match, as the object service, the adapters' commits and
// conditional GETs apply it.
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { checkObjectSize } from "../../src/objects/size-limit.js";
import { checkCondition, objectExists } from "../../src/store/write-condition.js";

const current = { etag: '"abc"' };

function failure(fn: () => void): AppError | null {
  try {
    fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
}

describe("checkCondition", () => {
  it("passes with no condition, whether the object exists or not", () => {
    expect(failure(() => checkCondition(current, {}))).toBeNull();
    expect(failure(() => checkCondition(null, {}))).toBeNull();
    expect(failure(() => checkCondition(undefined, {}))).toBeNull();
  });

  it("If-None-Match: * fails only when the object exists", () => {
    expect(failure(() => checkCondition(null, { ifNoneMatch: true }))).toBeNull();
    const err = failure(() => checkCondition(current, { ifNoneMatch: true }));
    expect(err?.code).toBe("precondition_failed");
    expect(err?.detail).toBe(objectExists().detail);
  });

  it("If-Match needs an existing object whose ETag is listed, or *", () => {
    expect(failure(() => checkCondition(current, { ifMatch: ["*"] }))).toBeNull();
    expect(failure(() => checkCondition(current, { ifMatch: ['"x"', '"abc"'] }))).toBeNull();
    for (const [cur, ifMatch] of [
      [null, ["*"]],
      [current, ['"x"']],
      [current, []],
    ] as const) {
      const err = failure(() => checkCondition(cur, { ifMatch: [...ifMatch] }));
      expect(err?.code).toBe("precondition_failed");
      expect(err?.detail).toMatch(/If-Match/);
    }
  });
});

describe("checkObjectSize", () => {
  it("refuses more than the limit with 413, and takes the limit itself", () => {
    expect(failure(() => checkObjectSize(10, 10))).toBeNull();
    const err = failure(() => checkObjectSize(11, 10));
    expect(err?.code).toBe("payload_too_large");
    expect(err?.detail).toBe("objects are limited to 10 bytes");
  });
});
