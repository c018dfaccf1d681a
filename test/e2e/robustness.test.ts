// Malformed, lying and hostile requests: never a 5xx, never a change of state, and the server
// keeps answering. Also the public routes: /health, /ready, /openapi.json, /docs, /metrics.
import net from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CATALOGUE } from "../../src/errors.js";
import { listAll } from "../helpers/listing.js";
import { adminQuery, createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { expectProblem } from "../helpers/problem.js";
import { RawConnection, socketExchange, statusCodes } from "../helpers/raw-socket.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { storedBlobBytes } from "../helpers/stored-bytes.js";
import { KiB, MiB, putObject, randomData, sha256 } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

let server: ServerProcess;
let db: TestDatabase | undefined;

// The same hostile requests against each store: PostgreSQL refuses some input SQLite takes (NUL).
describe.each(["sqlite", "postgres"] as const)("on %s", (store) => {
  beforeAll(async () => {
    if (store === "postgres") db = await createTestDatabase();
    server = await startServer(db ? { env: { SSE_DATABASE_URL: db.url } } : {});
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
    await db?.drop();
    db = undefined;
  }, 30_000);

  /** ids with their ETags: what "nothing changed" compares. */
  async function snapshot(): Promise<Map<string | number, string | null>> {
    const out = new Map<string | number, string | null>();
    for (const id of await listAll(server)) {
      const res = await server.fetch(`/data/${id}`, { method: "HEAD" });
      out.set(id, res.headers.get("etag"));
    }
    return out;
  }

  /** Every byte of stored ciphertext, in whichever store the server runs on. */
  // On PostgreSQL a replaced write waits out a grace period in the trash (readers in other
  // processes may still stream it), so only the rest counts: an aborted upload is never in the trash.
  async function storedCiphertextBytes(): Promise<number> {
    if (!db) return storedBlobBytes(path.join(server.dataDir, "objects.db"));
    const [row] = await adminQuery<{ n: string }>(
      db.url,
      `SELECT coalesce(sum(octet_length(s.data)), 0) AS n FROM sse_objects.segments s
       WHERE NOT EXISTS (SELECT 1 FROM sse_objects.trash t WHERE t.write_id = s.write_id)`,
    );
    return Number(row?.n ?? 0);
  }

  async function expectAlive(): Promise<void> {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
  }

  function authLine(): string {
    return `Authorization: Bearer ${server.token}\r\n`;
  }

  describe("malformed requests", () => {
    beforeAll(async () => {
      await putObject(server, "keep/one", "the first object");
      await putObject(server, "keep/two", randomData(150_000));
      await server.fetch("/data", {
        method: "POST",
        body: '{"data":"an item"}',
        headers: { "content-type": "application/json" },
      });
    }, 30_000);

    it("answers bad JSON to POST /data with 422, never 5xx, and changes nothing", async () => {
      const before = await snapshot();
      for (const [body, type] of [
        ["{", "application/json"],
        ['{"data":"x"', "application/json"],
        ['{"data":"x"}}', "application/json"],
        ["\u0000\u0001\u0002", "application/json"],
        ["{'data':'x'}", "application/json"],
        ['{"data":"\\ud800"', "application/json"],
        ["<xml/>", "application/xml"],
        ["data=x", "application/x-www-form-urlencoded"],
      ] as const) {
        const res = await server.fetch("/data", { method: "POST", body, headers: { "content-type": type } });
        expect(res.status, `${type} ${body}`).toBeLessThan(500);
        expect(res.status, `${type} ${body}`).toBeGreaterThanOrEqual(400);
        await res.arrayBuffer();
      }
      // A body far beyond any item, several times: every client must read its 413, none may see
      // its connection cut while still sending (Fastify's own answer to a body over its limit
      // closed the connection at once, which failed about one such request in five with EPIPE).
      for (let i = 0; i < 5; i++) {
        const huge = await server.fetch("/data", {
          method: "POST",
          body: JSON.stringify({ data: "x".repeat(3 * MiB) }),
          headers: { "content-type": "application/json" },
        });
        await expectProblem(huge, 413, "payload_too_large");
      }
      expect(await snapshot()).toEqual(before);
    }, 30_000);

    it("reads at most a few MiB of a refused body: a declared 200 MiB upload over the limit is cut", async () => {
      const small = await startServer({ env: { SSE_MAX_OBJECT_BYTES: String(MiB) } });
      try {
        const head =
          `PUT /data/refused HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${small.token}\r\n` +
          `Content-Length: ${200 * MiB}\r\n\r\n`;
        const sock = net.connect(small.port, "127.0.0.1");
        await new Promise((r) => sock.once("connect", r));
        let answer = "";
        let closed = false;
        sock.on("data", (d: Buffer) => {
          answer += d.toString("latin1");
        });
        sock.on("close", () => {
          closed = true;
        });
        sock.on("error", () => undefined);
        sock.write(head);
        const chunk = Buffer.alloc(MiB, 0x61);
        let sent = 0;
        while (!closed && sent < 200) {
          sent++;
          // Not events.once: it rejects on the socket's error, and a reset is what this test expects.
          if (!sock.write(chunk))
            await new Promise<void>((resolve) => {
              sock.once("drain", resolve);
              sock.once("close", resolve);
              setTimeout(resolve, 2000);
            });
        }
        await waitFor("the server to close the connection", () => closed);
        expect(statusCodes(Buffer.from(answer, "latin1"))).toEqual([413]);
        // The drain limit (8 MiB) plus what the sockets' buffers hold on both sides, far from 200.
        expect(sent).toBeLessThan(64);
        expect((await small.fetch("/data/refused")).status).toBe(404);
      } finally {
        await small.stop();
        small.cleanup();
      }
    }, 60_000);

    it("keeps the connection of a refused small body usable: the next request on it is answered", async () => {
      const body = JSON.stringify({ data: "x".repeat(2 * MiB) });
      const ex = await socketExchange(
        server.port,
        [
          `POST /data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
          body,
          "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        ],
        { until: (d) => statusCodes(d).length >= 2 },
      );
      expect(statusCodes(ex.data)).toEqual([413, 200]);
    }, 30_000);

    it("answers bad query strings with 4xx", async () => {
      for (const q of [
        "limit=1e3",
        "limit=1.5",
        "limit=",
        "after=",
        "limit=1&limit=2",
        "after=%ZZ",
        "limit=99999999999999999999",
      ]) {
        const res = await server.fetch(`/data?${q}`);
        expect(res.status, q).toBeLessThan(500);
        await res.arrayBuffer();
      }
    });

    it("never answers a bad Range with 5xx", async () => {
      for (const range of [
        "bytes=99999999999999999999999-",
        "bytes=0-99999999999999999999999",
        "bytes=-99999999999999999999999",
        "bytes=18446744073709551616-18446744073709551617",
        "bytes=1-0",
        "bytes=--1",
        "bytes=0-1,",
        "bytes=,,,",
        "bytes= 0 - 1 ",
        "bytes=0-1;q=1",
        `bytes=${"1".repeat(5000)}-`,
        "\u00ff\u00fe",
      ]) {
        const res = await server.fetch("/data/keep/two", { headers: { range: range } });
        expect(res.status, range).toBeLessThan(500);
        if (res.status === 206) {
          const cr = res.headers.get("content-range") ?? "";
          expect(cr).toMatch(/^bytes \d+-\d+\/150000$/);
        }
        await res.arrayBuffer();
      }
    });

    it("refuses malformed ETag headers with 400 and creates nothing", async () => {
      const before = await snapshot();
      const cases: [string, Record<string, string>][] = [
        ["PUT", { "if-match": "abc" }],
        ["PUT", { "if-match": '"abc' }],
        ["PUT", { "if-match": '"a"b"' }],
        ["PUT", { "if-match": 'W/"abc"x' }],
        ["PUT", { "if-none-match": "abc" }],
        ["GET", { "if-none-match": "abc" }],
        ["GET", { "if-match": "abc" }],
        ["DELETE", { "if-match": "abc" }],
      ];
      for (const [method, headers] of cases) {
        for (const id of ["keep/one", "etag/new"]) {
          const res = await server.fetch(`/data/${id}`, {
            method,
            headers,
            body: method === "PUT" ? "changed" : undefined,
          });
          // A read or delete of an absent object may say 404 first; a write must refuse the header.
          if (res.status === 404 && method !== "PUT" && id === "etag/new") {
            await expectProblem(res, 404, "not_found");
            continue;
          }
          await expectProblem(res, 400, "invalid_header");
        }
      }
      expect(await snapshot()).toEqual(before);
      expect((await (await server.fetch("/data/keep/one")).text()).toString()).toBe("the first object");
    });

    it("refuses malformed Content-Digest headers with 400 and creates nothing", async () => {
      const before = await snapshot();
      for (const cd of [
        "sha-256=abc",
        "sha-256=:not base64!:",
        "sha-256=:AAAA:",
        "md5=:1B2M2Y8AsgTpgAmY7PhCfg==:",
        "sha-256",
        "",
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, garbage",
      ]) {
        const res = await server.fetch("/data/digest/bad", {
          method: "PUT",
          body: "",
          headers: { "content-digest": cd },
        });
        expect(res.status, cd).toBe(400);
        await res.arrayBuffer();
      }
      expect(await snapshot()).toEqual(before);
    });

    it("refuses malformed Authorization headers with 401, never 5xx", async () => {
      for (const auth of [
        "Bearer",
        "Bearer ",
        "bearer\tx",
        `Bearer ${"a".repeat(8000)}`,
        "Bearer sse_\u00ff\u00fe",
        "Digest username=x",
        `Bearer ${server.token} extra`,
      ]) {
        const res = await fetch(`${server.url}/data`, { headers: { authorization: auth } });
        expect(res.status, auth.slice(0, 30)).toBe(401);
        await res.arrayBuffer();
      }
    });

    it("survives a Content-Length that promises 1000 bytes and delivers 10 before closing", async () => {
      const before = await snapshot();
      const ex = await socketExchange(
        server.port,
        [
          `PUT /data/lying/short HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n`,
          "0123456789",
        ],
        { halfClose: true },
      );
      for (const s of statusCodes(ex.data)) expect(s).toBeLessThan(500);
      await expectAlive();
      await expectProblem(await server.fetch("/data/lying/short"), 404, "not_found");
      // The same over an existing object keeps it.
      await socketExchange(
        server.port,
        [`PUT /data/keep/one HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Length: 1000\r\n\r\n`, "0123456789"],
        { halfClose: true },
      );
      await expectAlive();
      expect(await (await server.fetch("/data/keep/one")).text()).toBe("the first object");
      expect(await snapshot()).toEqual(before);
    });

    it("reads exactly Content-Length bytes when more are sent on a keep-alive socket", async () => {
      const head = `PUT /data/lying/long HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Length: 10\r\nConnection: keep-alive\r\n\r\n`;
      // All at once: the surplus is parsed as a (bad) next request.
      const ex = await socketExchange(server.port, [head, `0123456789${"X".repeat(990)}`], {
        until: (d) => statusCodes(d).length >= 2,
      });
      for (const s of statusCodes(ex.data)) expect(s).toBeLessThan(500);
      const res = await server.fetch("/data/lying/long");
      // Stored with exactly the declared 10 bytes, or (connection cut first) not at all; never 1000.
      if (res.status === 200) expect(await res.text()).toBe("0123456789");
      else await expectProblem(res, 404, "not_found");

      // The surplus after the answer: 201 for the request, then a refusal of the garbage.
      const conn = new RawConnection(server.port);
      await conn.ready;
      conn.write(head.replace("lying/long", "lying/long2"));
      conn.write("abcdefghij");
      expect((await conn.responses(1))[0]).toBe(201);
      conn.write("Y".repeat(990));
      const codes = await conn.responses(2);
      for (const s of codes) expect(s).toBeLessThan(500);
      conn.destroy();
      const res2 = await server.fetch("/data/lying/long2");
      expect(await res2.text()).toBe("abcdefghij");
      await expectAlive();
    });

    it("keeps the old object and lists no partial one after an upload aborted midway", async () => {
      const old = randomData(300 * KiB);
      await putObject(server, "abort/existing", old);
      const before = await snapshot();
      // 1 MiB of a declared 5 MiB, then 3 MiB (past the first flushed batches of segments).
      for (const [id, cut] of [
        ["abort/existing", MiB],
        ["abort/new", MiB],
        ["abort/existing", 3 * MiB],
        ["abort/new", 3 * MiB],
      ] as const) {
        const rid = `abort-${id.replace("/", "-")}-${cut}-${Date.now()}`;
        await new Promise<void>((resolve, reject) => {
          const sock = net.connect(server.port, "127.0.0.1", async () => {
            sock.write(
              `PUT /data/${id} HTTP/1.1\r\nHost: x\r\n${authLine()}X-Request-Id: ${rid}\r\nContent-Length: ${5 * MiB}\r\n\r\n`,
            );
            const chunk = randomData(64 * KiB);
            for (let sent = 0; sent < cut; sent += chunk.length) {
              if (!sock.write(chunk)) await new Promise((r) => sock.once("drain", r));
            }
            // Let the server see the bytes, then vanish mid-body.
            await waitFor("socket flush", () => sock.writableLength === 0);
            sock.destroy();
            resolve();
          });
          sock.on("error", reject);
        });
        // Wait until the server has finished with the aborted request (it logs with its request id).
        await waitFor(
          `the server to log the end of ${rid}`,
          () =>
            server
              .output()
              .split("\n")
              .filter((l) => l.includes(rid)).length >= 2,
          { timeoutMs: 15_000 },
        ).catch(() => undefined);
        await expectAlive();
      }
      const { status } = await server.fetch("/data/abort/existing");
      expect(status).toBe(200);
      const bytes = Buffer.from(await (await server.fetch("/data/abort/existing")).arrayBuffer());
      expect(sha256(bytes)).toBe(sha256(old));
      await expectProblem(await server.fetch("/data/abort/new"), 404, "not_found");
      expect(await snapshot()).toEqual(before);
      // Nothing is left locked: both ids take a new upload.
      expect((await putObject(server, "abort/new", "complete")).status).toBe(201);
      expect((await putObject(server, "abort/existing", "replaced")).status).toBe(200);
      // The aborted uploads' ciphertext (about 1 MiB each) does not stay behind.
      let live = 0;
      for (const id of await listAll(server)) {
        const head = await server.fetch(`/data/${id}`, { method: "HEAD" });
        live += Number(head.headers.get("content-length"));
      }
      await waitFor(
        "the aborted uploads to be reclaimed",
        async () => (await storedCiphertextBytes()) < live * 1.01 + 128 * KiB,
        { timeoutMs: 15_000 },
      ).catch(() => undefined);
      expect(await storedCiphertextBytes()).toBeLessThan(live * 1.01 + 128 * KiB);
    }, 60_000);

    it("answers raw garbage over TCP with 400 (or a closed socket), never 5xx", async () => {
      const payloads: [string, string | Buffer][] = [
        ["word", "GARBAGE\r\n\r\n"],
        ["random bytes", randomData(4096)],
        ["HTTP/9.9", "GET / HTTP/9.9\r\n\r\n"],
        ["no target", "GET\r\n\r\n"],
        ["unknown method", "FOO /data HTTP/1.1\r\nHost: x\r\n\r\n"],
        ["bad length", "GET /data HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"],
        [
          "two lengths",
          "PUT /data/g HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        ],
        [
          "chunked and length",
          "PUT /data/g HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ],
        [
          "bad chunk size",
          "PUT /data/g HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n",
        ],
        ["space in header name", "GET /data HTTP/1.1\r\nHost: x\r\nBad Header Name: x\r\n\r\n"],
        ["NUL in header", "GET /data HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n"],
        ["NUL in target", "GET /data\u0000 HTTP/1.1\r\nHost: x\r\n\r\n"],
        ["bare LF", "GET /data HTTP/1.1\nHost: x\n\n"],
        ["100 KiB target", `GET /${"a".repeat(100 * KiB)} HTTP/1.1\r\nHost: x\r\n\r\n`],
        ["h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
        ["TLS hello", Buffer.from("160301020001000001fc0303", "hex")],
      ];
      const failures: string[] = [];
      for (const [name, p] of payloads) {
        const ex = await socketExchange(server.port, [p], {
          until: (d) => statusCodes(d).length >= 1,
          timeoutMs: 5000,
        });
        const codes = statusCodes(ex.data);
        if (codes.some((s) => s >= 500)) failures.push(`${name}: ${codes.join(",")}`);
        if (codes.length === 0 && !ex.closedByServer)
          failures.push(`${name}: no answer and the connection stays open`);
      }
      expect(failures).toEqual([]);
      // Empty lines before a request are ignored (RFC 9112 §2.2).
      const blank = await socketExchange(
        server.port,
        ["\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        { until: (d) => statusCodes(d).length >= 1 },
      );
      expect(statusCodes(blank.data)).toEqual([200]);
      // Authenticated but malformed chunking.
      const ex = await socketExchange(
        server.port,
        [
          `PUT /data/garbage/chunks HTTP/1.1\r\nHost: x\r\n${authLine()}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n`,
        ],
        { until: (d) => statusCodes(d).length >= 1, timeoutMs: 5000 },
      );
      for (const s of statusCodes(ex.data)) expect(s).toBeLessThan(500);
      await expectAlive();
      expect((await server.fetch("/data/garbage/chunks")).status).toBe(404);
      expect((await server.fetch("/data/g")).status).toBe(404);
    }, 60_000);

    it("refuses every transfer coding but chunked on every route with a body, storing nothing", async () => {
      const gz = gzipSync("hello, coded");
      const chunked = Buffer.concat([
        Buffer.from(`${gz.length.toString(16)}\r\n`),
        gz,
        Buffer.from("\r\n0\r\n\r\n"),
      ]);
      // unsupported_transfer_encoding for a coding the server does not implement (a 4xx: clients
      // never cause 5xx); bad_request and a closed connection (RFC 9112 §6.3) when chunked is not
      // the last coding, so the body's end cannot be known.
      const codings: [string, string][] = [
        ["Transfer-Encoding: gzip, chunked\r\n", "unsupported_transfer_encoding"],
        ["Transfer-Encoding: identity, chunked\r\n", "unsupported_transfer_encoding"],
        ["Transfer-Encoding: x-custom ,chunked\r\n", "unsupported_transfer_encoding"],
        ["Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "unsupported_transfer_encoding"],
        ["Transfer-Encoding: gzip\r\n", "bad_request"],
        ["Transfer-Encoding: chunked, gzip\r\n", "bad_request"],
        ["Transfer-Encoding: identity\r\n", "bad_request"],
        ["Transfer-Encoding: chunked, chunked\r\n", "bad_request"],
      ];
      const routes = [
        (n: number) => `PUT /data/te/${n}`,
        () => "POST /data",
        () => "POST /data/keep/one/link",
        () => "POST /users",
        () => "POST /keys/rotate",
      ];
      const before = await snapshot();
      const keys = await (await server.fetch("/keys")).text();
      const users = await (await server.fetch("/users")).text();
      const failures: string[] = [];
      let n = 0;
      for (const [te, code] of codings)
        for (const route of routes) {
          const line = route(n++);
          const ex = await socketExchange(server.port, [
            `${line} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\n${te}Connection: close\r\n\r\n`,
            chunked,
          ]);
          const text = ex.data.toString("latin1");
          const body = text.slice(text.indexOf("\r\n\r\n") + 4);
          const got = statusCodes(ex.data);
          // One answer only (the parser's own refusal must not add a second one).
          if (got.length !== 1 || got[0] !== 400)
            failures.push(`${line} ${JSON.stringify(te)}: ${got.join(",")}`);
          else if (!/\r\ncontent-type: application\/problem\+json/i.test(text))
            failures.push(`${line} ${JSON.stringify(te)}: not problem+json`);
          else if (JSON.parse(body).code !== code) failures.push(`${line} ${JSON.stringify(te)}: ${body}`);
        }
      expect(failures).toEqual([]);
      expect(await snapshot()).toEqual(before);
      expect(await (await server.fetch("/keys")).text()).toBe(keys);
      expect(await (await server.fetch("/users")).text()).toBe(users);
      // An empty Transfer-Encoding names no framing at all: refused too, even beside a Content-Length.
      const empty = await socketExchange(server.port, [
        `PUT /data/te/empty HTTP/1.1\r\nHost: x\r\n${authLine()}Transfer-Encoding: \r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
      ]);
      expect(statusCodes(empty.data)).toEqual([400]);
      expect(empty.data.toString()).toContain('"code":"invalid_header"');
      expect((await server.fetch("/data/te/empty")).status).toBe(404);
      // chunked alone, in any case, still works.
      const ok = await socketExchange(server.port, [
        `PUT /data/te/plain HTTP/1.1\r\nHost: x\r\n${authLine()}Transfer-Encoding: CHUNKED\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      ]);
      expect(statusCodes(ok.data)).toEqual([201]);
      expect(await (await server.fetch("/data/te/plain")).text()).toBe("hello");
      expect((await server.fetch("/data/te/plain", { method: "DELETE" })).status).toBe(204);
    });

    it("refuses a request with two Authorization (or Host, or Content-Type) headers with 400, storing nothing", async () => {
      const bad = "Authorization: Bearer sse_0123456789abcdef_not-a-real-token-at-all-000000000000\r\n";
      const cases: [string, string][] = [
        ["valid then invalid", `GET /data HTTP/1.1\r\nHost: x\r\n${authLine()}${bad}`],
        ["invalid then valid", `GET /data HTTP/1.1\r\nHost: x\r\n${bad}${authLine()}`],
        ["the same twice", `GET /data HTTP/1.1\r\nHost: x\r\n${authLine()}${authLine()}`],
        ["on a write", `PUT /data/dup/auth HTTP/1.1\r\nHost: x\r\n${authLine()}${bad}Content-Length: 2\r\n`],
        ["on a public route", `GET /health HTTP/1.1\r\nHost: x\r\n${bad}${bad}`],
        [
          "two Hosts",
          `PUT /data/dup/host HTTP/1.1\r\nHost: x\r\nHost: evil.example\r\n${authLine()}Content-Length: 2\r\n`,
        ],
        [
          "two Content-Types",
          `PUT /data/dup/type HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: text/plain\r\nContent-Type: text/html\r\nContent-Length: 2\r\n`,
        ],
      ];
      const failures: string[] = [];
      for (const [name, head] of cases) {
        const body = head.includes("Content-Length") ? "hi" : "";
        const ex = await socketExchange(server.port, [`${head}Connection: close\r\n\r\n${body}`]);
        const text = ex.data.toString("latin1");
        if (statusCodes(ex.data).join(",") !== "400" || !text.includes('"code":"invalid_header"'))
          failures.push(`${name}: ${text.split("\r\n")[0]} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`);
      }
      expect(failures).toEqual([]);
      for (const id of ["dup/auth", "dup/host", "dup/type"])
        expect((await server.fetch(`/data/${id}`)).status).toBe(404);
      // One of each is as good as ever.
      const one = await socketExchange(server.port, [
        `GET /data HTTP/1.1\r\nHost: x\r\n${authLine()}Connection: close\r\n\r\n`,
      ]);
      expect(statusCodes(one.data)).toEqual([200]);
    });

    it("answers an unparseable request with problem+json and an X-Request-Id, like every other error", async () => {
      const ex = await socketExchange(server.port, ["GARBAGE\r\n\r\n"], {
        until: (d) => d.includes("\r\n\r\n{"),
      });
      const text = ex.data.toString("latin1");
      expect(statusCodes(ex.data)).toEqual([400]);
      expect(text).toMatch(/\r\ncontent-type: application\/problem\+json/i);
      expect(text).toMatch(/\r\nx-request-id: \S+/i);
    });

    it("answers a malformed percent-encoding in the path with 400 problem+json and an X-Request-Id", async () => {
      for (const p of ["/data/%ZZ", "/data/a%E0%A4%A", "/%ZZ"]) {
        const res = await server.fetch(p);
        await expectProblem(res, 400);
      }
    });

    it("answers a huge header with 431 (or 400), never 5xx", async () => {
      const ex = await socketExchange(
        server.port,
        [`GET /data HTTP/1.1\r\nHost: x\r\n${authLine()}X-Huge: ${"h".repeat(200 * KiB)}\r\n\r\n`],
        { until: (d) => statusCodes(d).length >= 1 },
      );
      const codes = statusCodes(ex.data);
      if (codes.length > 0) expect([400, 431]).toContain(codes[0]);
      else expect(ex.closedByServer).toBe(true);
      // Many headers too.
      const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join("");
      const ex2 = await socketExchange(
        server.port,
        [`GET /data HTTP/1.1\r\nHost: x\r\n${authLine()}${many}\r\n`],
        {
          until: (d) => statusCodes(d).length >= 1,
        },
      );
      for (const s of statusCodes(ex2.data)) expect(s).toBeLessThan(500);
      await expectAlive();
    });

    it("answers an unknown route with 404 problem+json, with or without a token", async () => {
      for (const path of ["/nope", "/data-x", "/api/v1/data", "/health/x", "/%ZZ"]) {
        const res = await fetch(server.url + path);
        if (path === "/%ZZ") {
          expect(res.status).toBeLessThan(500);
          await res.arrayBuffer();
          continue;
        }
        await expectProblem(res, 404, "not_found");
        await expectProblem(await server.fetch(path, { method: "POST", body: "x" }), 404, "not_found");
      }
    });
  });

  describe("hostile names: NUL and control characters never reach a store", () => {
    beforeAll(async () => {
      await putObject(server, "named/one", "a named object");
    });

    it("answers 4xx for every one, on every route that names something, and changes nothing", async () => {
      const before = await snapshot();
      // A link token that parses, with a NUL in its owner (the MAC cannot be right, and need not be).
      const owner = Buffer.from("a\u0000b", "utf8");
      const claims = Buffer.concat([
        Buffer.from([1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]),
        Buffer.from([owner.length]),
        owner,
        Buffer.from([16]),
        Buffer.from("0123456789abcdef"),
        Buffer.from([4]),
        Buffer.from('"e1"'),
        Buffer.from([0, 1]),
        Buffer.from("x"),
      ]);
      const nulLink = Buffer.concat([claims, Buffer.alloc(32, 7)]).toString("base64url");
      const requests: Array<[string, string, boolean]> = [
        ["GET", "/data?after=%00", true],
        ["GET", "/data?after=a%00", true],
        ["GET", "/data?prefix=a%00", true],
        ["GET", "/data?prefix=%01", true],
        ["GET", "/objects?prefix=a%00", true],
        ["GET", "/objects?cursor=%00", true],
        ["GET", "/objects?cursor=YQA", true],
        ["GET", "/jobs/%00", true],
        ["GET", "/jobs/job_%00", true],
        ["GET", "/data/a%00b", true],
        ["HEAD", "/data/a%00b", true],
        ["PUT", "/data/a%00b", true],
        ["DELETE", "/data/a%00b", true],
        ["POST", "/data/a%00b/link", true],
        ["GET", "/users/a%00", true],
        ["DELETE", "/users/admin/tokens/%00", true],
        ["DELETE", "/users/admin/tokens/0123456789abcde%00", true],
        ["GET", "/users/admin%00/tokens", true],
        ["GET", `/links/${nulLink}`, false],
        ["HEAD", `/links/${nulLink}/x`, false],
        ["GET", "/links/%00", false],
        ["GET", "/links/a%00/b", false],
      ];
      for (const [method, path, auth] of requests) {
        const res = await fetch(server.url + path, {
          method,
          headers: auth ? { authorization: `Bearer ${server.token}` } : {},
          body: method === "PUT" ? "x" : undefined,
        });
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        await res.arrayBuffer();
      }
      // POST /data with a JSON id or data holding NUL: an item id is an integer; data is encrypted.
      const item = await server.fetch("/data", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "1\u0000", data: "x" }),
      });
      expect(item.status).toBe(422);
      await item.arrayBuffer();
      const label = await server.fetch("/users/admin/tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ label: "a\u0000" }),
      });
      expect(label.status).toBe(422);
      await label.arrayBuffer();
      const user = await server.fetch("/users", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "a\u0000", role: "user" }),
      });
      expect(user.status).toBe(400);
      await user.arrayBuffer();
      expect(await snapshot()).toEqual(before);
      expect(server.output()).not.toMatch(/"level":(50|60)/);
      await expectAlive();
    });
  });

  describe("public routes", () => {
    it("serves /health and /ready without a token", async () => {
      const h = await fetch(`${server.url}/health`);
      expect(h.status).toBe(200);
      expect(await h.json()).toMatchObject({ status: "ok" });
      expect(h.headers.get("x-request-id")).toBeTruthy();
      const r = await fetch(`${server.url}/ready`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ status: "ready" });
    });

    interface OpenApiDoc {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: {
        securitySchemes?: Record<string, { type: string; scheme?: string }>;
        schemas?: Record<string, { properties?: { code?: { enum?: string[] } }; required?: string[] }>;
      };
    }

    async function openapi(): Promise<OpenApiDoc> {
      const res = await fetch(`${server.url}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toMatch(/json/);
      return JSON.parse(await res.text()) as OpenApiDoc;
    }

    it("serves /openapi.json describing /data, /data/{id}, bearer auth and every error code", async () => {
      const doc = await openapi();
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(["/data", "/data/{id}", "/health", "/ready"]),
      );
      expect(Object.keys(doc.paths["/data"]!)).toEqual(expect.arrayContaining(["get", "post"]));
      expect(Object.keys(doc.paths["/data/{id}"]!)).toEqual(expect.arrayContaining(["get", "put", "delete"]));
      expect(doc.components.securitySchemes?.bearer).toMatchObject({ type: "http", scheme: "bearer" });
      const schemas = doc.components.schemas ?? {};
      const problem =
        schemas.Problem ??
        Object.values(schemas).find((s) => s.required?.includes("requestId") && s.properties?.code);
      expect(problem, `schemas: ${Object.keys(schemas).join(", ")}`).toBeDefined();
      const codes = problem!.properties?.code?.enum ?? [];
      for (const code of Object.keys(ERROR_CATALOGUE)) expect(codes, code).toContain(code);
      // No route of the document leaks a wildcard.
      expect(Object.keys(doc.paths).filter((p) => p.includes("*"))).toEqual([]);
    });

    it("documents HEAD /data/{id} (API.md lists it; every route appears in /openapi.json)", async () => {
      const doc = await openapi();
      expect(Object.keys(doc.paths["/data/{id}"] ?? {})).toContain("head");
    });

    it("names the problem schema Problem, not a generated def-N", async () => {
      const doc = await openapi();
      expect(Object.keys(doc.components.schemas ?? {})).toContain("Problem");
    });

    it("serves the Swagger UI at /docs as HTML", async () => {
      const res = await fetch(`${server.url}/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toMatch(/^text\/html/);
      const html = await res.text();
      expect(html.toLowerCase()).toContain("swagger");
    });

    it("serves /metrics in the Prometheus text format", async () => {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^# (HELP|TYPE) /m);
    });
  });

  describe("afterwards", () => {
    it("still answers /health, never logged the token and never answered 5xx", async () => {
      await expectAlive();
      const r = await server.fetch("/data");
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      expect(server.output()).not.toContain(server.token);
      // Nothing this file sent made the server answer with a 5xx.
      expect(server.output()).not.toMatch(/"statusCode":5\d\d/);
    });
  });
});
