// Two server processes on one PostgreSQL append to one audit chain: users, tokens, object writes and
// deletes and key rotations made through both at once, with checkpoints every second from each, leave
// one gapless chain that `ssestore audit verify` accepts, holding exactly the acknowledged actions.
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.js";
import {
  auditVerify,
  bodiesOf,
  expectGapless,
  type LogStore,
  missingEvents,
  newLogStore,
  savePublicKey,
} from "../helpers/audit-log.js";
import { killHard } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const dir = tempDir("sse-e2e-audit-cluster-");
let store: LogStore | undefined;
const servers: ServerProcess[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => killHard(s)));
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Acked {
  requestId: string;
  status: number;
  what: string;
  server: "A" | "B";
}

describe("the audit log of two processes on one PostgreSQL", () => {
  it("is one chain that verifies, gapless, with an intent and an outcome for every acknowledged action", async () => {
    store = await newLogStore("postgres", dir);
    const exportFile = path.join(dir, "checkpoints.jsonl");
    const env = {
      ...store.env,
      SSE_LOG_LEVEL: "warn",
      SSE_AUDIT_REQUIRED: "true",
      SSE_AUDIT_EXPORT: exportFile,
      // Checkpoints of both processes fall between the other's events.
      SSE_AUDIT_CHECKPOINT_SECONDS: "1",
    };
    servers.push(...(await Promise.all([0, 1].map(() => startServer({ dataDir: store!.dataDir, env })))));
    const [a, b] = servers as [ServerProcess, ServerProcess];

    const acked: Acked[] = [];
    /** An audited action: it must succeed, and its request id is remembered. */
    const act = async (s: ServerProcess, method: string, p: string, token: string, body?: unknown) => {
      const r = await call(s, method, p, token, body);
      const server = s === a ? "A" : "B";
      const what = `${method} ${p} on ${server}`;
      expect(r.status, `${what}: ${r.text}`).toBeLessThan(300);
      acked.push({ requestId: r.headers.get("x-request-id")!, status: r.status, what, server });
      return r;
    };

    // Each lane is one user's life, every step on the other process than the step before.
    const lane = async (k: number) => {
      const [x, y] = k % 2 === 0 ? [a, b] : [b, a];
      const name = `user${k}`;
      await act(x, "POST", "/users", x.token, { name, role: "user" });
      const enrolled = (await act(y, "POST", `/users/${name}/tokens`, y.token, { label: "enrollment" })).json;
      const second = (await act(x, "POST", `/users/${name}/tokens`, enrolled.token, { label: "second" }))
        .json;
      const t = second.token as string;
      await act(y, "PUT", `/data/doc-${k}.txt`, t, `document ${k}`);
      await act(x, "PUT", `/data/tmp-${k}.txt`, t, "temporary");
      await act(y, "POST", "/data", t, { data: `item ${k}` });
      await act(x, "DELETE", `/data/tmp-${k}.txt`, t);
      await act(y, "POST", "/keys/rotate", t);
      await act(x, "PUT", `/data/doc-${k}.txt`, t, `document ${k}, rewritten`);
      await act(y, "DELETE", `/users/${name}/tokens/${enrolled.id}`, t);
      if (k % 3 === 0) await act(x, "DELETE", `/users/${name}`, x.token);
    };
    await Promise.all(Array.from({ length: 8 }, (_, k) => lane(k)));
    await savePublicKey(a, path.join(dir, "audit.pub"));
    expect(await Promise.all(servers.map((s) => s.stop()))).toEqual([0, 0]);

    const verified = await auditVerify(store.where, path.join(dir, "audit.pub"), exportFile);
    expect(verified.code, verified.out).toBe(0);
    const stored = await store.open();
    const rows = await stored.rows();
    await stored.close();
    expectGapless(rows);
    expect(verified.result).toMatchObject({ ok: true, records: rows.length, last: rows.length });
    // The chain ends with a shutdown checkpoint (the second process to stop exports it, signing none).
    expect(verified.result!.checkpoints).toBeGreaterThanOrEqual(1);
    expect(verified.result!.lastCheckpointed).toBe(rows.length - 1);

    const bodies = bodiesOf(rows);
    const events = bodies.filter((e) => e.kind === "event");
    expect(events.length).toBe(2 * acked.length);
    expect(bodies.length - events.length).toBe(verified.result!.checkpoints);
    expect(missingEvents(bodies, acked)).toEqual([]);
    const byRequest = new Map(acked.map((x) => [x.requestId, x]));
    expect(byRequest.size, "request ids are unique").toBe(acked.length);
    for (const e of events) {
      expect(byRequest.has(e.requestId!), `an event of no request the test made: ${JSON.stringify(e)}`).toBe(
        true,
      );
      expect(e.api).toBe("native");
    }
    // Both processes appended side by side, not one after the other.
    const writers = events.map((e) => byRequest.get(e.requestId!)!.server);
    const switches = writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length;
    expect(switches).toBeGreaterThan(20);
    // Every acknowledged action: one intent before its one outcome.
    for (const x of acked) {
      const mine = events.filter((e) => e.requestId === x.requestId);
      expect(
        mine.map((e) => e.outcome),
        x.what,
      ).toEqual(["pending", "ok"]);
      expect(mine[0]!.seq).toBeLessThan(mine[1]!.seq);
    }
  }, 90_000);
});
