import { describe, expect, it } from "vitest";
import { formatBytes, formatExactBytes } from "../../src/api/size-format.js";

describe("formatBytes: IEC units, the CLI's and the console's one convention", () => {
  it("shows exact bytes below 1 KiB, one decimal below 10 units, whole units above", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(5)).toBe("5 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 ** 2)).toBe("50 MiB");
    expect(formatBytes(300 * 1024 ** 2)).toBe("300 MiB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3.0 TiB");
  });

  it("carries a rounding into the next unit instead of printing 10.0 or 1024", () => {
    expect(formatBytes(9.97 * 1024)).toBe("10 KiB");
    expect(formatBytes(1024 * 1024 - 100)).toBe("1.0 MiB");
    expect(formatBytes(1024 ** 3 - 1)).toBe("1.0 GiB");
  });

  it("never prints a made-up size", () => {
    expect(formatBytes(-1)).toBe("-");
    expect(formatBytes(Number.NaN)).toBe("-");
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe("-");
  });

  it("exact counts are grouped by thousands", () => {
    expect(formatExactBytes(52_428_800)).toBe("52,428,800 bytes");
    expect(formatExactBytes(1)).toBe("1 byte");
    expect(formatExactBytes(999)).toBe("999 bytes");
  });
});
