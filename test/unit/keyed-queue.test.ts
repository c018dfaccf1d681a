// KeyedQueue: one task at a time per key, in call order; other keys do not wait; a failure passes
// to its caller and does not stop the queue; finished keys are forgotten.
import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../../src/keyed-queue.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("KeyedQueue", () => {
  it("runs one task per key at a time, in order, and other keys alongside", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name} in`);
        await tick();
        log.push(`${name} out`);
        if (fail) throw new Error(name);
        return name;
      };
    const a1 = q.run("a", task("a1"));
    const a2 = q.run("a", task("a2", true)).catch((e: Error) => `failed ${e.message}`);
    const a3 = q.run("a", task("a3"));
    const b1 = q.run("b", task("b1"));
    expect(q.size).toBe(2);
    expect(await Promise.all([a1, a2, a3, b1])).toEqual(["a1", "failed a2", "a3", "b1"]);
    const a = log.filter((l) => l.startsWith("a"));
    expect(a).toEqual(["a1 in", "a1 out", "a2 in", "a2 out", "a3 in", "a3 out"]);
    // b ran while a1 did.
    expect(log.indexOf("b1 in")).toBeLessThan(log.indexOf("a1 out"));
    await tick();
    expect(q.size).toBe(0);
  });
});
