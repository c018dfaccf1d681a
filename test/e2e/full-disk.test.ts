// A full disk, on a real server process whose data directory is a 128 MiB tmpfs the test mounts
// itself (root only; elsewhere it says SKIPPED). Uploads fill it until the reserve
// (SSE_MIN_FREE_BYTES) refuses them with 507 before a byte is stored; below the reserve /ready says
// so while deletes, items, tokens and keys go on; then another program fills the volume to the
// last byte while an upload streams (ENOSPC): the upload answers 507 at once and leaves nothing, a
// delete still succeeds, nothing stored before is lost, the log stays quiet, and everything works
// again without a restart once the volume grows. Clients: Node's fetch (Buffer and streamed
// bodies), raw sockets that send a Content-Length body without Expect (as Python's requests
// does), and curl.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../helpers/problem.js";
import { metricValue, parseMetrics } from "../helpers/prometheus.js";
import { RawConnection } from "../helpers/raw-socket.js";
import { rawUpload } from "../helpers/raw-upload.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { mountSmallVolume, type SmallVolume } from "../helpers/small-volume.js";
import { MiB, sha256, streamedInit } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

const run = promisify(execFile);
const RESERVE = 32 * MiB;
const OBJECT = 6 * MiB;

const mounted = mountSmallVolume(128);
if ("reason" in mounted)
  console.log(`SKIPPED: cannot mount a tmpfs (${mounted.reason}) — the full-disk tests did not run`);
const volume: SmallVolume | null = "volume" in mounted ? mounted.volume : null;

/** The id → SHA-256 of every object stored: what must survive. */
const stored = new Map<string, string>();
let server: ServerProcess;
let seq = 0;

type Client = "fetch" | "streamed" | "raw" | "curl";
const CLIENTS: Client[] = ["fetch", "raw", "curl", "streamed"];

/** PUTs `size` bytes with one kind of client; the status and the problem's code and detail, if any. */
async function put(
  client: Client,
  id: string,
  size: number,
): Promise<{ status: number; code?: string; detail?: string; sha: string }> {
  const auth = { authorization: `Bearer ${server.token}` };
  const url = `${server.url}/data/${id}`;
  let status: number;
  let text: string;
  let sha: string;
  if (client === "raw") {
    // rawUpload sends a body of 0x5a bytes, the whole body before it reads the answer.
    const r = await rawUpload({ port: server.port, path: `/data/${id}`, token: server.token, size });
    expect(r.outcome, `raw upload of ${id}`).toBe("answered");
    status = r.status!;
    text = r.body;
    sha = sha256(Buffer.alloc(size, 0x5a));
  } else {
    const body = randomBytes(size);
    sha = sha256(body);
    if (client === "curl") {
      const file = path.join(os.tmpdir(), `sse-full-disk-${process.pid}-${seq++}`);
      writeFileSync(file, body);
      try {
        const { stdout } = await run("curl", [
          "-sS",
          "-T",
          file,
          "-H",
          `Authorization: Bearer ${server.token}`,
          "-w",
          "\n%{http_code}",
          url,
        ]);
        const cut = stdout.lastIndexOf("\n");
        text = stdout.slice(0, cut);
        status = Number(stdout.slice(cut + 1));
      } finally {
        rmSync(file, { force: true });
      }
    } else {
      const chunks = Array.from({ length: size / (256 * 1024) }, (_, i) =>
        body.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
      );
      const init: RequestInit =
        client === "fetch" ? { method: "PUT", body, headers: auth } : streamedInit("PUT", chunks, auth);
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
      status = res.status;
      text = await res.text();
    }
  }
  if (status === 200 || status === 201) return { status, sha };
  const problem = JSON.parse(text) as { code: string; detail: string };
  return { status, code: problem.code, detail: problem.detail, sha };
}

async function ready(): Promise<{ status: string; writable: boolean; checks: Record<string, string> }> {
  const r = await fetch(`${server.url}/ready`);
  expect(r.status).toBe(200);
  return (await r.json()) as never;
}

async function readBack(id: string): Promise<string> {
  const r = await server.fetch(`/data/${id}`);
  expect(r.status, id).toBe(200);
  return createHash("sha256")
    .update(Buffer.from(await r.arrayBuffer()))
    .digest("hex");
}

async function expectAllIntact(): Promise<void> {
  for (const [id, sha] of stored) expect(await readBack(id), id).toBe(sha);
}

/** The server's log lines at level error (50) written after `from` characters of output. */
function errorLines(from: number): string[] {
  return server
    .output()
    .slice(from)
    .split("\n")
    .filter((l) => /"level":50/.test(l));
}

describe.skipIf(!volume)("a full disk", () => {
  beforeAll(async () => {
    server = await startServer({
      dataDir: path.join(volume!.dir, "data"),
      env: { SSE_MIN_FREE_BYTES: String(RESERVE) },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    volume?.destroy();
  }, 60_000);

  it("stores objects from every kind of client", async () => {
    for (const client of CLIENTS) {
      const id = `first/${client}`;
      const r = await put(client, id, 2 * MiB);
      expect(r.status, client).toBe(201);
      stored.set(id, r.sha);
    }
    await expectAllIntact();
  }, 60_000);

  let fullFrom = 0;

  it("answers 507 at once to an upload that the disk fills under (ENOSPC), and keeps nothing of it", async () => {
    fullFrom = server.output().length;
    const declared = 16 * MiB;
    const conn = new RawConnection(server.port);
    await conn.ready;
    conn.write(
      `PUT /data/cut-short HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\n` +
        `Content-Length: ${declared}\r\n\r\n`,
    );
    const before = volume!.available();
    const part = Buffer.alloc(MiB, 0x33);
    for (let i = 0; i < 3; i++) conn.write(part);
    // The server has stored some of it once the volume shows it.
    await waitFor("the first segments to reach the disk", () => volume!.available() < before - 2 * MiB);
    // Another program takes every byte left.
    expect(volume!.fill(0)).toBeLessThan(64 * 1024);
    // The rest of the body, sent before reading the answer (as a client without Expect does).
    for (let i = 3; i < declared / MiB; i++) conn.write(part);
    const codes = await conn.responses(1, 20_000);
    conn.destroy();
    expect(codes[0]).toBe(507);
    const text = conn.data.toString("latin1");
    const problem = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4, text.lastIndexOf("}") + 1)) as {
      code: string;
      detail: string;
    };
    expect(problem.code).toBe("insufficient_storage");
    expect(problem.detail).toMatch(/disk is full/);
    await expectProblem(await server.fetch("/data/cut-short"), 404, "not_found");
    const listed = (await (await server.fetch("/data?prefix=cut")).json()) as string[];
    expect(listed).toEqual([]);
    // While the disk is full every upload is refused at once, whatever the client.
    for (const client of CLIENTS) {
      const r = await put(client, `while-full/${client}`, MiB);
      expect(r.status, client).toBe(507);
      expect(r.code, client).toBe("insufficient_storage");
    }
    const state = await ready();
    expect(state.writable).toBe(false);
    expect(state.checks.space).toBe("disk_full");
  }, 60_000);

  it("deletes an object while the disk is full, and loses none of the others", async () => {
    const [victim] = stored.keys();
    const del = await server.fetch(`/data/${victim}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    stored.delete(victim!);
    await expectProblem(await server.fetch(`/data/${victim}`), 404, "not_found");
    await expectAllIntact();
  }, 60_000);

  it("writes no more than a handful of error lines while the disk stays full", async () => {
    // Keep it full and busy for a while: refused uploads, reads, probes; the checkpoint keeps failing.
    const until = Date.now() + 6000;
    let requests = 0;
    while (Date.now() < until) {
      const r = await put(CLIENTS[requests % CLIENTS.length]!, `busy/${requests}`, 256 * 1024);
      expect(r.status).toBe(507);
      await ready();
      requests++;
    }
    expect(requests).toBeGreaterThan(10);
    const errors = errorLines(fullFrom);
    expect(errors.length, errors.join("\n")).toBeLessThanOrEqual(5);
    const checkpoint = errors.filter((l) => l.includes("checkpoint"));
    expect(checkpoint.length, checkpoint.join("\n")).toBeLessThanOrEqual(1);
  }, 60_000);

  it("works again without a restart once space is freed: uploads, the checkpoint, the emergency space", async () => {
    volume!.unfill();
    await waitFor("/ready to report the store writable", async () => (await ready()).writable, {
      timeoutMs: 30_000,
    });
    for (const client of CLIENTS) {
      const id = `recovered/${client}`;
      const r = await put(client, id, 2 * MiB);
      expect(r.status, client).toBe(201);
      stored.set(id, r.sha);
    }
    await expectAllIntact();
    const out = server.output().slice(fullFrom);
    expect(out).toMatch(/the disk has room again/);
    // Large uploads write blob files, not the WAL: the checkpoint fails only if the WAL had pages
    // waiting when the disk filled, and then it must recover too.
    if (/SQLite background checkpoint failed/.test(out))
      expect(out).toMatch(/SQLite background checkpoint works again/);
  }, 120_000);

  it("fills up with uploads from every kind of client, then refuses them with 507 before storing a byte", async () => {
    let refusedAt = -1;
    for (let i = 0; i < 20 && refusedAt < 0; i++) {
      const id = `fill/${i}`;
      const r = await put(CLIENTS[i % CLIENTS.length]!, id, OBJECT);
      if (r.status === 201) stored.set(id, r.sha);
      else {
        expect(r.status).toBe(507);
        expect(r.code).toBe("insufficient_storage");
        expect(r.detail).toMatch(/reserve/);
        refusedAt = i;
      }
    }
    expect(refusedAt).toBeGreaterThan(0);
    // Every kind of client gets its 507 (the estimate is refined as the volume is looked at
    // again, so one more may fit), and nothing of a refused upload is stored.
    for (const client of CLIENTS) {
      let r: Awaited<ReturnType<typeof put>> | null = null;
      for (let attempt = 0; attempt < 5; attempt++) {
        const id = `refused/${client}/${attempt}`;
        r = await put(client, id, OBJECT);
        if (r.status !== 201) {
          await expectProblem(await server.fetch(`/data/${id}`), 404, "not_found");
          break;
        }
        stored.set(id, r.sha);
      }
      expect(r?.status, client).toBe(507);
      expect(r?.code, client).toBe("insufficient_storage");
    }
    await expectProblem(await server.fetch(`/data/fill/${refusedAt}`), 404, "not_found");
    await expectAllIntact();
  }, 120_000);

  it("below the reserve: /ready and /metrics say so, and deletes, items, tokens and keys still work", async () => {
    // Free space counts the free pages inside objects.db too (refused streamed uploads leave some,
    // and later writes take them again): leave 5/8 of the reserve on the volume, and fill further
    // while the free pages would still lift the total over the reserve. Items (allowed down to half
    // the reserve) then still fit whatever the free pages do.
    const seen = () =>
      waitFor("the server to see the volume as it is", async () => {
        const m = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
        const free = metricValue(m, "sse_storage_free_bytes");
        const reusable = metricValue(m, "sse_storage_reusable_bytes");
        return Math.abs(free - volume!.available()) < MiB ? { free, reusable } : null;
      });
    volume!.fill((RESERVE * 5) / 8);
    const first = await seen();
    if (first.free + first.reusable >= RESERVE) {
      volume!.fill(Math.max(2 * MiB, (RESERVE * 3) / 4 - first.reusable));
      await seen();
    }
    const state = await waitFor("/ready to report the store not writable", async () => {
      const r = await ready();
      return r.writable === false ? r : null;
    });
    expect(state.status).toBe("ready");
    expect(state.checks.space).toBe("below_reserve");
    const samples = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
    expect(metricValue(samples, "sse_storage_writable")).toBe(0);
    expect(metricValue(samples, "sse_storage_reserve_bytes")).toBe(RESERVE);
    expect(metricValue(samples, "sse_storage_free_bytes")).toBeLessThan(RESERVE);

    // An upload of any size is refused, before its body is read.
    const tiny = await put("fetch", "tiny", 1024);
    expect(tiny.status).toBe(507);
    expect(tiny.code).toBe("insufficient_storage");
    // A few KiB of item: yes.
    const item = await server.fetch("/data", {
      method: "POST",
      body: JSON.stringify({ data: "x".repeat(3000) }),
      headers: { "content-type": "application/json" },
    });
    expect(item.status).toBe(200);
    const { id: itemId } = (await item.json()) as { id: number };
    expect(((await (await server.fetch(`/data/${itemId}`)).json()) as { data: string }).data).toHaveLength(
      3000,
    );
    // Tokens: issued and revoked.
    const tok = await server.fetch("/users/admin/tokens", {
      method: "POST",
      body: JSON.stringify({ label: "while full" }),
      headers: { "content-type": "application/json" },
    });
    expect(tok.status).toBe(201);
    const { id: tokenId } = (await tok.json()) as { id: string };
    expect((await server.fetch(`/users/admin/tokens/${tokenId}`, { method: "DELETE" })).status).toBe(204);
    // Keys: rotated.
    expect((await server.fetch("/keys/rotate", { method: "POST" })).status).toBe(200);
    // A delete, which makes room.
    const [victim] = stored.keys();
    expect((await server.fetch(`/data/${victim}`, { method: "DELETE" })).status).toBe(204);
    stored.delete(victim!);
    await expectProblem(await server.fetch(`/data/${victim}`), 404, "not_found");
    await expectAllIntact();
    expect(server.output()).toMatch(/free space is below the reserve/);
  }, 60_000);

  it("accepts uploads again without a restart once the volume grows", async () => {
    volume!.resize(256);
    await waitFor("/ready to report the store writable", async () => (await ready()).writable, {
      timeoutMs: 30_000,
    });
    for (const client of CLIENTS) {
      const id = `grown/${client}`;
      const r = await put(client, id, OBJECT);
      expect(r.status, client).toBe(201);
      stored.set(id, r.sha);
    }
    await expectAllIntact();
    expect(server.output()).toMatch(/free space is above the reserve again/);
  }, 120_000);
});
