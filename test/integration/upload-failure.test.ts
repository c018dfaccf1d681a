// A write that fails partway through an upload (the disk fills, the database goes away, the key
// provider fails) must answer its client at once, whatever the client: one that writes its whole
// body before reading (Python's requests, no `Expect: 100-continue`) used to hang until its own
// timeout, because the body stopped being read and the answer waited behind it. Real SQLite store,
// with a fault injected into one call of appendSegments; real sockets.
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyProviderError, StorageUnavailableError } from "../../src/errors.js";
import type { ObjectStore } from "../../src/store/object-store.js";
import { storageFault } from "../../src/store/sqlite/migrations.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawUpload } from "../helpers/raw-upload.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";
import { streamedInit } from "../helpers/transfer.js";

const MiB = 1024 * 1024;

/** What the store throws on the failing call; `null` lets every call through. */
let fault: (() => unknown) | null = null;
/** The appendSegments call (1-based, per upload attempt) that fails. */
const FAILING_CALL = 3;
let calls = 0;

function interpose(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "appendSegments")
        return async (...args: Parameters<ObjectStore["appendSegments"]>) => {
          if (fault && ++calls === FAILING_CALL) throw fault();
          return target.appendSegments(...args);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const FAULTS: { name: string; make: () => unknown; status: number; code: string }[] = [
  {
    name: "the disk fills (SQLITE_FULL)",
    make: () => storageFault(new Database.SqliteError("database or disk is full", "SQLITE_FULL")),
    status: 507,
    code: "insufficient_storage",
  },
  {
    name: "the database goes away",
    make: () => new StorageUnavailableError(new Error("connection terminated")),
    status: 503,
    code: "storage_unavailable",
  },
  {
    name: "the key provider fails",
    make: () => new KeyProviderError(),
    status: 503,
    code: "key_provider_unavailable",
  },
];

describe("a write that fails partway through an upload", () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startApp({}, undefined, interpose);
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  const arm = (make: () => unknown) => {
    calls = 0;
    fault = make;
  };

  for (const f of FAULTS) {
    describe(f.name, () => {
      it("answers a client that sends its whole body first (no Expect), and reads the rest of a body within the drain limit", async () => {
        arm(f.make);
        const r = await rawUpload({
          port,
          path: "/data/raw-small",
          token: ADMIN_TOKEN,
          size: 6 * MiB,
          followUp: "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        });
        fault = null;
        expect(r.outcome).toBe("answered");
        expect(r.status).toBe(f.status);
        expect(JSON.parse(r.body).code).toBe(f.code);
        // The rest of the body was read and dropped: the connection serves the next request.
        expect(r.bodySent).toBe(true);
        expect(r.followUpStatus).toBe(200);
        expect((await t.app.inject({ url: "/data/raw-small", headers: auth() })).statusCode).toBe(404);
      });

      it("answers, then closes the connection, when more than the drain limit is left", async () => {
        arm(f.make);
        const r = await rawUpload({ port, path: "/data/raw-big", token: ADMIN_TOKEN, size: 256 * MiB });
        fault = null;
        expect(r.outcome).not.toBe("hung");
        if (r.status !== null) expect(r.status).toBe(f.status);
        // Cut well before the end of the declared body (the drain limit plus what socket buffers hold).
        expect(r.sent).toBeLessThan(128 * MiB);
        expect((await t.app.inject({ url: "/data/raw-big", headers: auth() })).statusCode).toBe(404);
      });

      it("answers Node's fetch, with a Buffer body and with a streamed one", async () => {
        arm(f.make);
        const res = await fetch(`http://127.0.0.1:${port}/data/fetched`, {
          method: "PUT",
          body: Buffer.alloc(6 * MiB, 1),
          headers: auth(),
          signal: AbortSignal.timeout(20_000),
        });
        expect(res.status).toBe(f.status);
        expect(((await res.json()) as { code: string }).code).toBe(f.code);

        arm(f.make);
        const chunks = Array.from({ length: 96 }, () => Buffer.alloc(64 * 1024, 2));
        const streamed = await fetch(`http://127.0.0.1:${port}/data/fetched`, {
          ...streamedInit("PUT", chunks, auth()),
          signal: AbortSignal.timeout(20_000),
        });
        fault = null;
        expect(streamed.status).toBe(f.status);
        await streamed.arrayBuffer();
        expect((await t.app.inject({ url: "/data/fetched", headers: auth() })).statusCode).toBe(404);
      });
    });
  }

  it("still serves uploads on the same server afterwards", async () => {
    fault = null;
    const r = await rawUpload({ port, path: "/data/after", token: ADMIN_TOKEN, size: 3 * MiB });
    expect(r.outcome).toBe("answered");
    expect(r.status).toBe(201);
  });
});

function auth(): Record<string, string> {
  return { authorization: `Bearer ${ADMIN_TOKEN}` };
}
