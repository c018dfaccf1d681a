// The server started exactly as a user starts it (`npm start`, in a process group of its own, as a
// terminal or a supervisor does) and stopped by a signal to that whole group (Ctrl-C, systemd's
// KillMode=control-group): the server gets the signal directly and again relayed by npm, and must
// still drain. Two signals a deliberate two seconds apart still cut at once.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import http from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { uploadInFlight } from "../helpers/process-control.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const open: ServerProcess[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.kill();
    s.cleanup();
  }
});

async function npmStart(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServer({
    dataDir,
    command: { file: "npm", args: ["start"] },
    detached: true,
    // SSE_S3_PORT=0: no fixed listener port of a second API to collide with other test servers.
    env: { SSE_S3_PORT: "0", ...env },
  });
  open.push(server);
  return server;
}

function exited(server: ServerProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) resolve(server.proc.exitCode);
    else server.proc.once("exit", (code) => resolve(code));
  });
}

interface PacedUpload {
  body: Buffer;
  /** Resolves once `n` chunks have gone out. */
  written(n: number): Promise<void>;
  response: Promise<{ status: number; body: string }>;
  /** Stops sending and drops the connection (clean-up). */
  abandon(): void;
}

/** A chunked PUT /data/{id} whose body goes out one chunk every `intervalMs`: a slow client. */
function pacedUpload(
  server: ServerProcess,
  id: string,
  {
    chunks,
    chunkBytes = 32 * 1024,
    intervalMs = 100,
  }: { chunks: number; chunkBytes?: number; intervalMs?: number },
): PacedUpload {
  const body = randomBytes(chunks * chunkBytes);
  const req = http.request(`${server.url}/data/${id}`, {
    method: "PUT",
    agent: false,
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/octet-stream" },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => undefined);
  let sent = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const send = () => {
    if (req.destroyed) return clearInterval(timer);
    req.write(body.subarray(sent * chunkBytes, (sent + 1) * chunkBytes));
    sent++;
    for (const w of waiting.filter((x) => x.n <= sent)) w.resolve();
    if (sent === chunks) {
      clearInterval(timer);
      req.end();
    }
  };
  const timer = setInterval(send, intervalMs);
  send();
  req.on("close", () => clearInterval(timer));
  return {
    body,
    written: (n) =>
      new Promise((resolve, reject) => {
        if (sent >= n) resolve();
        else waiting.push({ n, resolve });
        response.catch(reject);
      }),
    response,
    abandon: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}

async function expectWhole(server: ServerProcess, objects: Map<string, Buffer>): Promise<void> {
  for (const [id, body] of objects) {
    const res = await server.fetch(`/data/${id}`);
    expect(res.status, id).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body), `${id} reads back whole`).toBe(true);
  }
}

const ROUNDS = 5;

describe("npm start, its process group signalled", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: a slow upload finishes, the server exits 0, the object reads back whole (${ROUNDS} times)`, async () => {
      const dataDir = tempDir();
      try {
        const stored = new Map<string, Buffer>();
        for (let round = 0; round < ROUNDS; round++) {
          // Each start also reads back what the rounds before stored.
          const server = await npmStart(dataDir);
          await expectWhole(server, stored);
          const id = `${signal.toLowerCase()}-round-${round}`;
          // 20 chunks 100 ms apart: about 2 s; the signal goes out about 0.5 s in.
          const upload = pacedUpload(server, id, { chunks: 20 });
          await upload.written(5);
          await uploadInFlight(server);
          const exit = exited(server);
          server.signal(signal);
          const res = await upload.response.catch((err: Error) => {
            throw new Error(`round ${round}: the upload was cut (${err.message}):\n${server.output()}`);
          });
          expect(res.status, server.output()).toBe(201);
          expect(JSON.parse(res.body)).toMatchObject({ id, size: upload.body.length });
          // npm exits with the server's code: a supervisor sees the clean stop.
          expect(await exit, server.output()).toBe(0);
          expect(server.output()).toContain("SSE Store stopped");
          expect(server.output()).not.toContain("second signal");
          stored.set(id, upload.body);
        }
        await expectWhole(await npmStart(dataDir), stored);
      } finally {
        for (const s of open.splice(0)) await s.kill();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 120_000);
  }

  it("SIGINT twice, 2 s apart (Ctrl-C pressed twice): the second cuts the upload at once, exit 1", async () => {
    const dataDir = tempDir();
    try {
      const server = await npmStart(dataDir, { SSE_SHUTDOWN_TIMEOUT: "120" });
      // 30 s of body: only a cut ends it within the test.
      const upload = pacedUpload(server, "cut-by-ctrl-c", { chunks: 300 });
      let settled = false;
      upload.response.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await upload.written(5);
      await uploadInFlight(server);
      const exit = exited(server);
      server.signal("SIGINT");
      // The operator's pace, not a wait for readiness: the second press comes 2 s after the first.
      await delay(2000);
      expect(settled, "the first Ctrl-C (and its relayed copies) only drains").toBe(false);
      const pressed = performance.now();
      server.signal("SIGINT");
      await expect(upload.response).rejects.toThrow();
      const code = await exit;
      // Far from the 120 s deadline: the cut is immediate, then only the stores close.
      expect(performance.now() - pressed).toBeLessThan(10_000);
      expect(code, server.output()).toBe(1);
      expect(server.output()).toContain("second signal: cutting the requests still open");
      upload.abandon();
    } finally {
      for (const s of open.splice(0)) await s.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
