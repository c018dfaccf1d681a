// kill -9 of a server while clients write through the native API and S3, on SQLite and on
// PostgreSQL: the audit chain it leaves verifies offline, every action a client saw acknowledged
// (each 2xx) has its intent and its outcome in it, and a restarted server carries the chain on.
import { rmSync } from "node:fs";
import path from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
import { issueAccessKey } from "../helpers/s3-client-setup.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { randomData } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

interface Sent {
  requestId: string;
  status: number;
}

/**
 * Loops of audited writes until `minAcked` are acknowledged, then SIGKILL: `clients` on the native
 * API (object PUTs, deletes, item POSTs, each with a request id of the test's own) and `s3Clients`
 * through S3 (PutObject, DeleteObject into `bucket`).
 */
async function writeUntilKilled(
  server: ServerProcess,
  o: { clients: number; s3Clients: number; s3: S3Client; bucket: string; minAcked: number },
) {
  const acked: Sent[] = [];
  const cut: string[] = [];
  const errors: string[] = [];
  let killing = false;
  const failed = (what: string, err: unknown) => {
    if (!killing) errors.push(`${what}: ${String(err)}`);
    cut.push(what);
    return false;
  };
  const send = async (requestId: string, method: string, p: string, body?: string | Buffer<ArrayBuffer>) => {
    const headers: Record<string, string> = { "x-request-id": requestId };
    if (typeof body === "string") headers["content-type"] = "application/json";
    try {
      const res = await server.fetch(p, { method, headers, ...(body !== undefined ? { body } : {}) });
      await res.arrayBuffer();
      expect(res.headers.get("x-request-id")).toBe(requestId);
      if (res.status < 300) acked.push({ requestId, status: res.status });
      else if (!killing) errors.push(`${method} ${p} → ${res.status}`);
      return true;
    } catch (err) {
      return failed(`${method} ${p}`, err);
    }
  };
  const sendS3 = async (
    what: string,
    sent: Promise<{ $metadata: { requestId?: string; httpStatusCode?: number } }>,
  ) => {
    try {
      const { $metadata } = await sent;
      acked.push({ requestId: $metadata.requestId!, status: $metadata.httpStatusCode! });
      return true;
    } catch (err) {
      return failed(what, err);
    }
  };
  const client = async (k: number) => {
    for (let n = 0; !killing; n++) {
      const id = `/data/kill/c${k}/obj${n % 3}`;
      if (!(await send(`kill-${k}-${n}-put`, "PUT", id, randomData(1024 + ((n * 7919) % 32768))))) return;
      if (n % 4 === 3 && !(await send(`kill-${k}-${n}-delete`, "DELETE", id))) return;
      if (
        n % 5 === 0 &&
        !(await send(`kill-${k}-${n}-post`, "POST", "/data", JSON.stringify({ data: `${n}` })))
      )
        return;
    }
  };
  const s3Client = async (k: number) => {
    for (let n = 0; !killing; n++) {
      const at = { Bucket: o.bucket, Key: `c${k}/obj${n % 3}` };
      const Body = randomData(1024 + ((n * 7919) % 32768));
      if (!(await sendS3(`PutObject ${at.Key}`, o.s3.send(new PutObjectCommand({ ...at, Body }))))) return;
      if (n % 4 === 3 && !(await sendS3(`DeleteObject ${at.Key}`, o.s3.send(new DeleteObjectCommand(at)))))
        return;
    }
  };
  const running = [
    ...Array.from({ length: o.clients }, (_, k) => client(k)),
    ...Array.from({ length: o.s3Clients }, (_, k) => s3Client(k)),
  ];
  await waitFor(`${o.minAcked} acknowledged writes`, () => acked.length >= o.minAcked || errors.length > 0, {
    timeoutMs: 45_000,
  });
  killing = true;
  await killHard(server);
  await Promise.all(running);
  return { acked, cut, errors };
}

describe.each(["sqlite", "postgres"] as const)("kill -9 during writes, on %s", (kind) => {
  let dir: string;
  let store: LogStore;
  const servers: ServerProcess[] = [];
  beforeEach(async () => {
    dir = tempDir("sse-e2e-audit-kill-");
    store = await newLogStore(kind, dir);
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => killHard(s)));
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves a chain that verifies, with every acknowledged action in it; a restart carries it on", async () => {
    const exportFile = path.join(dir, "checkpoints.jsonl");
    const keyFile = path.join(dir, "audit.pub");
    const start = async () => {
      const s = await startServer({
        s3: true,
        dataDir: store.dataDir,
        env: {
          ...store.env,
          SSE_LOG_LEVEL: "warn",
          SSE_AUDIT_EXPORT: exportFile,
          // Checkpoints land among the writes, and so may the kill.
          SSE_AUDIT_CHECKPOINT_SECONDS: "1",
        },
      });
      servers.push(s);
      return s;
    };
    const victim = await start();
    await savePublicKey(victim, keyFile);
    const credentials = await issueAccessKey(victim, "audit-kill");
    const s3 = new S3Client({
      endpoint: victim.s3Url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      // A request the kill cuts is not sent again (to a server that is gone).
      maxAttempts: 1,
    });
    // Apart from the native clients' ids (kill/…): bucket + key is an object id too.
    const bucket = "s3kill";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { acked, cut, errors } = await writeUntilKilled(victim, {
      clients: 4,
      s3Clients: 3,
      s3,
      bucket,
      minAcked: 150,
    }).finally(() => s3.destroy());
    expect(errors).toEqual([]);
    expect(cut.length, "writes were in flight when the server was killed").toBeGreaterThanOrEqual(1);

    const afterKill = await auditVerify(store.where, keyFile, exportFile);
    expect(afterKill.code, afterKill.out).toBe(0);
    const stored = await store.open();
    let rows = await stored.rows();
    expectGapless(rows);
    expect(missingEvents(bodiesOf(rows), acked)).toEqual([]);
    // An acknowledged action's intent came before its outcome.
    for (const { requestId } of acked) {
      const mine = bodiesOf(rows).filter((b) => b.requestId === requestId);
      expect(mine.map((b) => b.outcome)).toEqual(["pending", "ok"]);
    }
    const killedAt = rows.length;

    // A restarted server appends to the same chain; its shutdown checkpoint covers all of it.
    const restarted = await start();
    const after = await restarted.fetch("/data/after-the-kill", { method: "PUT", body: "still here" });
    expect(after.status).toBe(201);
    const afterId = after.headers.get("x-request-id")!;
    expect(await restarted.stop()).toBe(0);
    const final = await auditVerify(store.where, keyFile, exportFile);
    expect(final.code, final.out).toBe(0);
    rows = await stored.rows();
    await stored.close();
    expectGapless(rows);
    expect(final.result).toMatchObject({ records: rows.length, lastCheckpointed: rows.length - 1 });
    const resumed = bodiesOf(rows.slice(killedAt));
    expect(missingEvents(resumed, [{ requestId: afterId, status: 201 }])).toEqual([]);
    expect(missingEvents(bodiesOf(rows), acked)).toEqual([]);
  }, 90_000);
});
