import { describe, expect, it } from "vitest";
import { AppError, IntegrityError } from "../../src/errors.js";
import { DamageReport, describeError, MAX_LISTED } from "../../src/jobs/damage-report.js";

describe("DamageReport", () => {
  it("lists damaged objects with the error a client would see, and survives a JSON round trip", () => {
    const r = new DamageReport();
    r.add("alice", "a/b", new IntegrityError("stored segment failed authentication"));
    r.add("bob", "7", new AppError("key_destroyed", "key version 1 was retired"));
    const again = DamageReport.fromJson(JSON.stringify(r));
    again.add("carol", "x", new Error("ENOENT /secret/path"));
    expect(again.toJSON()).toEqual({
      damaged: [
        { owner: "alice", id: "a/b", error: "integrity_error: stored segment failed authentication" },
        { owner: "bob", id: "7", error: "key_destroyed: key version 1 was retired" },
        { owner: "carol", id: "x", error: "internal_error" },
      ],
      damagedCount: 3,
      truncated: false,
    });
    expect(DamageReport.fromJson(null).toJSON()).toEqual({ damaged: [], damagedCount: 0, truncated: false });
  });

  it("caps the list but keeps counting", () => {
    let r = new DamageReport();
    for (let i = 0; i < MAX_LISTED + 5; i++) {
      r.add("u", `o${i}`, new IntegrityError());
      if (i === 10) r = DamageReport.fromJson(JSON.stringify(r));
    }
    const out = r.toJSON();
    expect(out.damaged).toHaveLength(MAX_LISTED);
    expect(out.damagedCount).toBe(MAX_LISTED + 5);
    expect(out.truncated).toBe(true);
    expect(describeError(new AppError("not_found"))).toBe("not_found");
  });
});
