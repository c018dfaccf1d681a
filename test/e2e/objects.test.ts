// Binary objects end to end: streamed PUT/GET/HEAD/DELETE, ranges, conditional requests,
// Content-Digest, size limits, ids, and atomic replace under concurrent reads.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasC0Control } from "../../src/control-characters.js";
import { listAll } from "../helpers/listing.js";
import { expectProblem } from "../helpers/problem.js";
import { rawJson, rawRequest, socketRequest } from "../helpers/raw-http.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import {
  getBytes,
  KiB,
  MiB,
  pseudoRandomChunks,
  putObject,
  randomData,
  readBody,
  sha256,
  streamedInit,
} from "../helpers/transfer.js";

const SMALL_LIMIT = 1048576;

let server: ServerProcess;
/** A second server whose SSE_MAX_OBJECT_BYTES is 1 MiB, for the size limit. */
let small: ServerProcess;
/** A third that decrypts large downloads on its AEAD thread, and collects every MiB streamed. */
let threaded: ServerProcess;

beforeAll(async () => {
  [server, small, threaded] = await Promise.all([
    startServer(),
    startServer({ env: { SSE_MAX_OBJECT_BYTES: String(SMALL_LIMIT) } }),
    startServer({ env: { SSE_READ_THREAD: "true", SSE_GC_EVERY_MIB: "1" } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), small?.stop(), threaded?.stop()]);
  server?.cleanup();
  small?.cleanup();
  threaded?.cleanup();
}, 30_000);

function digestHeader(body: Uint8Array, alg = "sha256"): string {
  const name = alg === "sha256" ? "sha-256" : "sha-512";
  return `${name}=:${createHash(alg).update(body).digest("base64")}:`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe("PUT", () => {
  it("creates with 201 and replaces with 200, answering the object's metadata", async () => {
    const first = await putObject(server, "meta.bin", "hello", { "content-type": "application/x-one" });
    expect(first.status).toBe(201);
    const b = first.body;
    expect(Object.keys(b).sort()).toEqual([
      "contentType",
      "created",
      "etag",
      "id",
      "keyVersion",
      "modified",
      "size",
    ]);
    expect(b.id).toBe("meta.bin");
    expect(b.size).toBe(5);
    expect(b.contentType).toBe("application/x-one");
    expect(b.etag).toMatch(/^"[\x21\x23-\x7e]+"$/);
    expect(first.headers.get("etag")).toBe(b.etag);
    expect(b.created).toMatch(ISO);
    expect(b.modified).toMatch(ISO);
    expect(Number.isInteger(b.keyVersion)).toBe(true);
    expect(b.keyVersion).toBeGreaterThanOrEqual(1);

    const second = await putObject(server, "meta.bin", "hello, again", { "content-type": "text/x-two" });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe("meta.bin");
    expect(second.body.size).toBe(12);
    expect(second.body.contentType).toBe("text/x-two");
    expect(second.body.etag).not.toBe(b.etag);
    // A replace keeps the object's creation time and moves its modification time.
    expect(second.body.created).toBe(b.created);
    expect(Date.parse(second.body.modified)).toBeGreaterThanOrEqual(Date.parse(b.modified));

    const { res, bytes } = await getBytes(server, "meta.bin");
    expect(bytes.toString()).toBe("hello, again");
    expect(res.headers.get("content-type")).toBe("text/x-two");
    expect(res.headers.get("etag")).toBe(second.body.etag);
  });

  it("answers an integer id as a JSON number", async () => {
    const r = await putObject(server, "4242", "numbered");
    expect(r.body.id).toBe(4242);
    const r2 = await putObject(server, "0042", "padded");
    expect(r2.body.id).toBe("0042");
  });

  it("defaults the Content-Type to application/octet-stream", async () => {
    await putObject(server, "no-type", new Uint8Array([1, 2, 3]));
    const { res } = await getBytes(server, "no-type");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
  });
});

describe("GET and HEAD", () => {
  const sizes = [0, 1, 65535, 65536, 65537, 3 * MiB + 7];

  for (const size of sizes) {
    it(`returns exactly the ${size} bytes stored, with their headers`, async () => {
      const data = randomData(size);
      const type = `application/x-size-${size}`;
      const put = await putObject(server, `size/${size}`, data, { "content-type": type });
      expect(put.body.size).toBe(size);
      const { res, bytes } = await getBytes(server, `size/${size}`);
      expect(res.status).toBe(200);
      expect(bytes.length).toBe(size);
      expect(sha256(bytes)).toBe(sha256(data));
      expect(res.headers.get("content-type")).toBe(type);
      expect(res.headers.get("content-length")).toBe(String(size));
      const etag = res.headers.get("etag");
      expect(etag).toBe(put.body.etag);
      expect(etag).toMatch(/^"[\x21\x23-\x7e]+"$/);
      expect(res.headers.get("accept-ranges")).toBe("bytes");
      const lm = res.headers.get("last-modified");
      expect(lm).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      expect(Date.parse(lm!)).toBe(Math.floor(Date.parse(put.body.modified) / 1000) * 1000);
      expect(res.headers.get("x-request-id")).toBeTruthy();

      const head = await server.fetch(`/data/size/${size}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      for (const h of ["content-type", "content-length", "etag", "last-modified", "accept-ranges"])
        expect(head.headers.get(h), h).toBe(res.headers.get(h));
    }, 30_000);
  }

  it("keeps a Content-Type with parameters, and a text type, exactly", async () => {
    for (const [id, type] of [
      ["t/plain", "text/plain"],
      ["t/params", "text/csv; charset=iso-8859-1; header=present"],
      ["t/json", "application/json"],
      ["t/image", "image/png"],
    ] as const) {
      const put = await putObject(server, id, "a,b\n1,2\n", { "content-type": type });
      expect(put.body.contentType).toBe(type);
      const { res } = await getBytes(server, id);
      expect(res.headers.get("content-type"), id).toBe(type);
    }
  });

  it("never lets a browser run stored content as a page: nosniff and a sandbox CSP on every answer", async () => {
    const page = "<html><script>document.title='owned'</script></html>";
    await putObject(server, "evil/page.html", page, { "content-type": "text/html" });
    const item = (await (
      await server.fetch("/data", { method: "POST", body: JSON.stringify({ data: "<script>1</script>" }) })
    ).json()) as { id: number };
    const etag = (await server.fetch("/data/evil/page.html", { method: "HEAD" })).headers.get("etag")!;
    const answers: [string, Response][] = [
      ["GET", await server.fetch("/data/evil/page.html")],
      ["HEAD", await server.fetch("/data/evil/page.html", { method: "HEAD" })],
      ["range", await server.fetch("/data/evil/page.html", { headers: { range: "bytes=0-5" } })],
      ["304", await server.fetch("/data/evil/page.html", { headers: { "if-none-match": etag } })],
      ["item", await server.fetch(`/data/${item.id}`)],
      ["item HEAD", await server.fetch(`/data/${item.id}`, { method: "HEAD" })],
      ["ids", await server.fetch("/data?prefix=evil/")],
      ["folder", await server.fetch("/objects?prefix=evil/")],
      [
        "PUT",
        await server.fetch("/data/evil/again.html", {
          method: "PUT",
          body: page,
          headers: { "content-type": "text/html" },
        }),
      ],
    ];
    for (const [what, r] of answers) {
      expect(r.status, what).toBeLessThan(400);
      expect(r.headers.get("x-content-type-options"), what).toBe("nosniff");
      expect(r.headers.get("content-security-policy"), what).toMatch(/\bsandbox\b/);
      expect(r.headers.get("content-security-policy"), what).toMatch(/default-src 'none'/);
      await r.arrayBuffer();
    }
    expect(answers[0]![1].headers.get("content-type")).toBe("text/html");
  });

  it("gives a strong ETag that changes with content and reveals nothing about it", async () => {
    const a = randomData(70_000);
    const b = Buffer.from(a);
    b[12345] = (b[12345] ?? 0) ^ 1;
    const ea = (await putObject(server, "etag/a", a)).body.etag;
    const eb = (await putObject(server, "etag/b", b)).body.etag;
    expect(ea).not.toBe(eb);
    expect(ea.startsWith("W/")).toBe(false);
    // Keyed per write: the same bytes written again do not give away their equality.
    const ea2 = (await putObject(server, "etag/a2", a)).body.etag;
    expect(ea2).not.toBe(ea);
    for (const [etag, body] of [
      [ea, a],
      [eb, b],
      [(await putObject(server, "etag/empty", new Uint8Array(0))).body.etag, Buffer.alloc(0)],
      [(await putObject(server, "etag/text", "hello world")).body.etag, Buffer.from("hello world")],
    ] as const) {
      const inner = etag.replace(/^"|"$/g, "").toLowerCase();
      for (const alg of ["sha256", "md5", "sha1", "sha512"]) {
        const d = createHash(alg).update(body).digest();
        for (const form of [d.toString("hex"), d.toString("base64"), d.toString("base64url")]) {
          const f = form.toLowerCase().replace(/=+$/, "");
          expect(inner.includes(f), `${etag} contains ${alg}`).toBe(false);
          // Nor a prefix of it long enough to matter.
          expect(inner.includes(f.slice(0, 16)), `${etag} contains part of ${alg}`).toBe(false);
        }
      }
    }
  });

  it("answers 404 not_found for an unknown id and for a prefix of an existing one", async () => {
    await putObject(server, "deep/x/y.txt", "deep");
    for (const id of ["nothing-here", "deep", "deep/x", "deep/x/y", "deep/x/y.txt/z"]) {
      await expectProblem(await server.fetch(`/data/${id}`), 404, "not_found");
      const head = await server.fetch(`/data/${id}`, { method: "HEAD" });
      expect(head.status).toBe(404);
    }
  });
});

describe("SSE_READ_THREAD=true", () => {
  it("serves whole objects and ranges byte for byte, several at once", async () => {
    const size = 5 * MiB + 12_345;
    const data = randomData(size);
    await putObject(threaded, "threaded", data);
    const ranges: [number, number][] = [
      [0, size - 1],
      [1, size - 2],
      [65_535, 3 * MiB],
      [size - 70_000, size - 1],
    ];
    const results = await Promise.all(
      [...ranges, ...ranges].map(async ([start, end]) => {
        const whole = start === 0 && end === size - 1;
        const { res, bytes } = await getBytes(
          threaded,
          "threaded",
          whole ? {} : { range: `bytes=${start}-${end}` },
        );
        return { start, end, status: res.status, bytes };
      }),
    );
    for (const r of results) {
      expect(r.status, `${r.start}-${r.end}`).toBe(r.start === 0 && r.end === size - 1 ? 200 : 206);
      expect(r.bytes.equals(data.subarray(r.start, r.end + 1)), `${r.start}-${r.end}`).toBe(true);
    }
    // Opened on the thread, not by the fallback to the serving thread that a failed thread leaves.
    expect(threaded.output()).not.toContain("(SSE_READ_THREAD) failed");
  }, 60_000);
});

describe("ranges", () => {
  const size = 200_000;
  let data: Buffer<ArrayBuffer>;

  beforeAll(async () => {
    data = randomData(size);
    await putObject(server, "ranged", data, { "content-type": "application/x-ranged" });
    await putObject(server, "empty", new Uint8Array(0));
  }, 30_000);

  const cases: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    ["bytes=10-20", 10, 20],
    ["bytes=65530-65545", 65530, 65545],
    ["bytes=131000-131100", 131000, 131100],
    ["bytes=100-", 100, size - 1],
    ["bytes=-5", size - 5, size - 1],
    ["bytes=-1", size - 1, size - 1],
    [`bytes=-${size + 50}`, 0, size - 1],
    [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
    [`bytes=${size - 1}-`, size - 1, size - 1],
    ["bytes=0-", 0, size - 1],
    ["bytes=65536-131071", 65536, 131071],
  ];
  for (const [header, start, end] of cases) {
    it(`answers ${header} with 206 and bytes ${start}-${end}`, async () => {
      const { res, bytes } = await getBytes(server, "ranged", { range: header });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get("content-length")).toBe(String(end - start + 1));
      expect(res.headers.get("content-type")).toBe("application/x-ranged");
      expect(res.headers.get("etag")).toBeTruthy();
      expect(bytes.equals(data.subarray(start, end + 1))).toBe(true);
    });
  }

  it("answers HEAD with a range like GET, without a body", async () => {
    const res = await server.fetch("/data/ranged", { method: "HEAD", headers: { range: "bytes=10-20" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 10-20/${size}`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers an unsatisfiable range with 416 and Content-Range: bytes */size", async () => {
    for (const [id, header, total] of [
      ["ranged", `bytes=${size}-`, size],
      ["ranged", `bytes=${size + 5}-${size + 10}`, size],
      ["ranged", "bytes=-0", size],
      ["empty", "bytes=0-0", 0],
      ["empty", "bytes=0-", 0],
      ["empty", "bytes=-5", 0],
    ] as const) {
      const res = await server.fetch(`/data/${id}`, { headers: { range: header } });
      expect(res.headers.get("content-range"), header).toBe(`bytes */${total}`);
      await expectProblem(res, 416, "range_not_satisfiable");
    }
  });

  it("ignores a malformed or unsupported Range header (200, whole object)", async () => {
    for (const header of [
      "bytes=abc",
      "bytes=5-2",
      "bytes=",
      "bytes=-",
      "bytes=1-2-3",
      "bites=0-1",
      "items=0-10",
      "0-10",
      "bytes=0x10-0x20",
      "bytes=+1-2",
      "bytes=0-1,5-6",
    ]) {
      const { res, bytes } = await getBytes(server, "ranged", { range: header });
      expect(res.status, header).toBe(200);
      expect(res.headers.get("content-range")).toBeNull();
      expect(bytes.length).toBe(size);
    }
  });
});

describe("conditional requests", () => {
  it("answers If-None-Match with the current ETag by 304", async () => {
    const put = await putObject(server, "cond/get", "conditional");
    const etag = put.body.etag;
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await server.fetch("/data/cond/get", { headers: { "if-none-match": inm } });
      expect(res.status, inm).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    const res = await server.fetch("/data/cond/get", { headers: { "if-none-match": '"not-it"' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("conditional");
  });

  it("refuses PUT If-None-Match: * on an existing id with 412 and keeps the object", async () => {
    const put = await putObject(server, "cond/inm", "original");
    const res = await server.fetch("/data/cond/inm", {
      method: "PUT",
      body: "replacement",
      headers: { "if-none-match": "*" },
    });
    await expectProblem(res, 412, "precondition_failed");
    const { res: g, bytes } = await getBytes(server, "cond/inm");
    expect(bytes.toString()).toBe("original");
    expect(g.headers.get("etag")).toBe(put.body.etag);
    // On a free id it creates.
    const fresh = await server.fetch("/data/cond/inm-new", {
      method: "PUT",
      body: "new",
      headers: { "if-none-match": "*" },
    });
    expect(fresh.status).toBe(201);
  });

  it("refuses a large PUT If-None-Match: * on an existing id and keeps the object", async () => {
    const old = randomData(100);
    await putObject(server, "cond/inm-large", old);
    const res = await server.fetch("/data/cond/inm-large", {
      method: "PUT",
      body: randomData(3 * MiB),
      headers: { "if-none-match": "*" },
    });
    await expectProblem(res, 412, "precondition_failed");
    expect((await getBytes(server, "cond/inm-large")).bytes.equals(old)).toBe(true);
  }, 30_000);

  it("applies If-Match on PUT: wrong → 412 (unchanged), right → 200", async () => {
    const put = await putObject(server, "cond/im", "v1");
    const wrong = await server.fetch("/data/cond/im", {
      method: "PUT",
      body: "v2",
      headers: { "if-match": '"definitely-not-the-etag"' },
    });
    await expectProblem(wrong, 412, "precondition_failed");
    expect((await getBytes(server, "cond/im")).bytes.toString()).toBe("v1");
    const right = await server.fetch("/data/cond/im", {
      method: "PUT",
      body: "v2",
      headers: { "if-match": put.body.etag },
    });
    expect(right.status).toBe(200);
    const info = (await right.json()) as { etag: string };
    expect(info.etag).not.toBe(put.body.etag);
    expect((await getBytes(server, "cond/im")).bytes.toString()).toBe("v2");
    // The old ETag no longer matches.
    const stale = await server.fetch("/data/cond/im", {
      method: "PUT",
      body: "v3",
      headers: { "if-match": put.body.etag },
    });
    await expectProblem(stale, 412, "precondition_failed");
    // If-Match on an absent object fails too.
    const absent = await server.fetch("/data/cond/im-absent", {
      method: "PUT",
      body: "x",
      headers: { "if-match": "*" },
    });
    await expectProblem(absent, 412, "precondition_failed");
    await expectProblem(await server.fetch("/data/cond/im-absent"), 404, "not_found");
  });

  it("lets exactly one of 10 concurrent PUTs with If-None-Match: * create the object", async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => randomData(100_000 + i));
    const results = await Promise.all(
      bodies.map(async (body) => {
        const res = await server.fetch("/data/cond/race-create", {
          method: "PUT",
          body,
          headers: { "if-none-match": "*" },
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(1);
    expect(results.filter((s) => s === 412)).toHaveLength(9);
    const winner = bodies[results.indexOf(201)]!;
    expect(sha256((await getBytes(server, "cond/race-create")).bytes)).toBe(sha256(winner));
  }, 30_000);

  it("lets exactly one of 10 concurrent PUTs with the same If-Match replace the object", async () => {
    const put = await putObject(server, "cond/race-replace", "v0");
    const bodies = Array.from({ length: 10 }, (_, i) => randomData(2 * MiB + i));
    const results = await Promise.all(
      bodies.map(async (body) => {
        const res = await server.fetch("/data/cond/race-replace", {
          method: "PUT",
          body,
          headers: { "if-match": put.body.etag },
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 412)).toHaveLength(9);
    const winner = bodies[results.indexOf(200)]!;
    expect(sha256((await getBytes(server, "cond/race-replace")).bytes)).toBe(sha256(winner));
  }, 60_000);

  it("applies If-Match on DELETE", async () => {
    const put = await putObject(server, "cond/del", "x");
    const wrong = await server.fetch("/data/cond/del", {
      method: "DELETE",
      headers: { "if-match": '"nope"' },
    });
    await expectProblem(wrong, 412, "precondition_failed");
    expect((await server.fetch("/data/cond/del")).status).toBe(200);
    const right = await server.fetch("/data/cond/del", {
      method: "DELETE",
      headers: { "if-match": put.body.etag },
    });
    expect(right.status).toBe(204);
  });
});

describe("Content-Digest", () => {
  it("stores a body whose sha-256 (or sha-512) digest matches", async () => {
    const data = randomData(150_000);
    const res = await server.fetch("/data/digest/ok", {
      method: "PUT",
      body: data,
      headers: { "content-digest": digestHeader(data) },
    });
    expect(res.status).toBe(201);
    expect((await getBytes(server, "digest/ok")).bytes.equals(data)).toBe(true);
    const res512 = await server.fetch("/data/digest/ok512", {
      method: "PUT",
      body: data,
      headers: { "content-digest": digestHeader(data, "sha512") },
    });
    expect(res512.status).toBe(201);
  });

  it("refuses a mismatch with 400 digest_mismatch and stores nothing", async () => {
    const data = randomData(1000);
    const other = randomData(1000);
    // New id: stays absent.
    const res = await server.fetch("/data/digest/new", {
      method: "PUT",
      body: data,
      headers: { "content-digest": digestHeader(other) },
    });
    await expectProblem(res, 400, "digest_mismatch");
    await expectProblem(await server.fetch("/data/digest/new"), 404, "not_found");
    // Existing id: keeps its old bytes and ETag.
    const put = await putObject(server, "digest/old", data);
    const res2 = await server.fetch("/data/digest/old", {
      method: "PUT",
      body: other,
      headers: { "content-digest": digestHeader(data) },
    });
    await expectProblem(res2, 400, "digest_mismatch");
    const { res: g, bytes } = await getBytes(server, "digest/old");
    expect(bytes.equals(data)).toBe(true);
    expect(g.headers.get("etag")).toBe(put.body.etag);
    expect(await listAll(server)).not.toContain("digest/new");
  });

  it("refuses a mismatch on a multi-batch body (several MiB) and stores nothing", async () => {
    const data = randomData(5 * MiB + 3);
    const res = await server.fetch("/data/digest/large", {
      method: "PUT",
      body: data,
      headers: { "content-digest": digestHeader(randomData(10)) },
    });
    await expectProblem(res, 400, "digest_mismatch");
    await expectProblem(await server.fetch("/data/digest/large"), 404, "not_found");
    expect(await listAll(server)).not.toContain("digest/large");
  }, 30_000);
});

describe("size limit (SSE_MAX_OBJECT_BYTES=1 MiB)", () => {
  it("accepts exactly the limit", async () => {
    const data = randomData(SMALL_LIMIT);
    const r = await putObject(small, "limit/exact", data);
    expect(r.status).toBe(201);
    expect((await getBytes(small, "limit/exact")).bytes.equals(data)).toBe(true);
  }, 30_000);

  it("refuses one byte more with 413, declared by Content-Length", async () => {
    const res = await socketRequest({
      port: small.port,
      method: "PUT",
      path: "/data/limit/cl",
      headers: {
        authorization: `Bearer ${small.token}`,
        "content-length": SMALL_LIMIT + 1,
        "content-type": "application/octet-stream",
      },
      body: [randomData(SMALL_LIMIT + 1)],
      chunked: false,
    });
    expect(res.status).toBe(413);
    expect(rawJson<{ code: string }>(res).code).toBe("payload_too_large");
    await expectProblem(await small.fetch("/data/limit/cl"), 404, "not_found");
  }, 30_000);

  it("refuses an oversized body with 413 through fetch too", async () => {
    const res = await small.fetch("/data/limit/fetch", { method: "PUT", body: randomData(3 * MiB) });
    await expectProblem(res, 413, "payload_too_large");
    await expectProblem(await small.fetch("/data/limit/fetch"), 404, "not_found");
  }, 30_000);

  it("refuses a chunked body that grows past the limit with 413 and stores nothing", async () => {
    async function* body() {
      for (let i = 0; i < 40; i++) yield randomData(64 * KiB);
    }
    const res = await socketRequest({
      port: small.port,
      method: "PUT",
      path: "/data/limit/chunked",
      headers: { authorization: `Bearer ${small.token}`, "content-type": "application/octet-stream" },
      body: body(),
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect(rawJson<{ code: string }>(res).code).toBe("payload_too_large");
    await expectProblem(await small.fetch("/data/limit/chunked"), 404, "not_found");
    // Exactly the limit, chunked: fine.
    async function* exact() {
      for (let i = 0; i < 16; i++) yield Buffer.alloc(64 * KiB, i);
    }
    const ok = await small.fetch("/data/limit/chunked-exact", streamedInit("PUT", exact()));
    expect(ok.status).toBe(201);
  }, 30_000);

  it("keeps the old object when a replacement is too large", async () => {
    const old = randomData(1000);
    await putObject(small, "limit/keep", old);
    const res = await socketRequest({
      port: small.port,
      method: "PUT",
      path: "/data/limit/keep",
      headers: { authorization: `Bearer ${small.token}` },
      body: (async function* () {
        for (let i = 0; i < 20; i++) yield randomData(100 * KiB);
      })(),
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect((await getBytes(small, "limit/keep")).bytes.equals(old)).toBe(true);
    const ids = await listAll(small);
    expect(ids).not.toContain("limit/cl");
    expect(ids).not.toContain("limit/chunked");
    expect(ids).not.toContain("limit/fetch");
  }, 30_000);
});

describe("ids", () => {
  it("accepts ids with slashes and every allowed character", async () => {
    const ids = [
      "a/b/c.txt",
      "A-Z_a~z.0-9",
      "x/y/z/deeper/still.tar.gz",
      "...",
      "a/.../b",
      "_/~/-",
      "x".repeat(1024),
    ];
    for (const id of ids) {
      const body = `content of ${id.slice(0, 40)}`;
      const put = await putObject(server, id, body);
      expect(put.status, id).toBe(201);
      expect(put.body.id).toBe(id);
      expect((await getBytes(server, id)).bytes.toString()).toBe(body);
    }
    const listed = await listAll(server);
    for (const id of ids) expect(listed).toContain(id);
  });

  it("refuses invalid ids with 400 invalid_id on every method", async () => {
    const bad = [
      "x".repeat(1025),
      "%C3%A9".repeat(512) + "x",
      "a%00b",
      "a%0Ab",
      "a%09b",
      "%1F",
      "a%F4%8F%BF%BF",
    ];
    const failures: string[] = [];
    for (const id of bad) {
      for (const method of ["PUT", "GET", "HEAD", "DELETE"]) {
        const res = await rawRequest({
          port: server.port,
          method,
          path: `/data/${id}`,
          token: server.token,
          body: method === "PUT" ? "should not be stored" : undefined,
        });
        const code = method === "HEAD" ? null : rawJson<{ code?: string }>(res).code;
        if (res.status !== 400 || (code !== null && code !== "invalid_id"))
          failures.push(`${method} /data/${id.slice(0, 30)} → ${res.status} ${code}`);
      }
    }
    // Percent-encoding that is not UTF-8 never names an object either.
    for (const id of ["%FF", "a%C3", "%E2%82"]) {
      const res = await rawRequest({
        port: server.port,
        method: "PUT",
        path: `/data/${id}`,
        token: server.token,
        body: "x",
      });
      if (res.status !== 400) failures.push(`PUT /data/${id} → ${res.status}`);
    }
    expect(failures).toEqual([]);
    const listed = await listAll(server);
    expect(
      listed.filter((id) => typeof id === "string" && (hasC0Control(id) || id.includes("should"))),
    ).toEqual([]);
  }, 30_000);

  it("takes every S3 key as an id: odd names round-trip through PUT, GET, HEAD, the listings and DELETE", async () => {
    const names = [
      "odd/Quarterly Report (final) \u00e9.txt",
      "odd/a+b=c&d",
      "odd/100%/done",
      "odd/hash#tag",
      "odd/what?",
      "odd/double//slash",
      "odd/trailing/",
      "odd/\u{1F600} emoji",
      "odd/\u6f22\u5b57 \u0444\u0430\u0439\u043b",
      "odd/quote\"and'apostrophe",
      "odd/back\\slash",
      "odd/semi;colon:comma,",
      "odd/ leading and trailing space ",
      "odd/tilde~star*bang!at@dollar$",
      "odd/brackets[]{}<>|^`",
    ];
    for (const id of names) {
      const path = `/data/${id.split("/").map(encodeURIComponent).join("/")}`;
      const put = await server.fetch(path, {
        method: "PUT",
        body: `content of ${id}`,
        headers: { "content-type": "text/plain" },
      });
      expect(put.status, id).toBe(201);
      const info = (await put.json()) as { id: string };
      expect(info.id).toBe(id);
      expect(put.headers.get("location")).toBe(path);
      const got = await server.fetch(path);
      expect(await got.text(), id).toBe(`content of ${id}`);
      const head = await server.fetch(path, { method: "HEAD" });
      expect(head.status, id).toBe(200);
    }
    const listed = await listAll(server);
    for (const id of names) expect(listed, id).toContain(id);
    const folder = (await (await server.fetch("/objects?prefix=odd%2F&delimiter=%2F&limit=1000")).json()) as {
      folders: string[];
      objects: { id: string }[];
    };
    expect(folder.folders.sort()).toEqual(["odd/100%/", "odd/double/", "odd/trailing/"]);
    const inFolder = folder.objects.map((o) => o.id);
    for (const id of names.filter((n) => !n.slice(4).includes("/"))) expect(inFolder, id).toContain(id);
    // Listings come in byte order of the UTF-8 ids, page by page with the cursor.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/objects?prefix=odd%2F&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await server.fetch(q)).json()) as {
        objects: { id: string }[];
        next: string | null;
      };
      paged.push(...page.objects.map((o) => o.id));
      cursor = page.next;
    } while (cursor);
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(paged).toEqual(byBytes);
    for (const id of names) {
      const path = `/data/${id.split("/").map(encodeURIComponent).join("/")}`;
      expect((await server.fetch(path, { method: "DELETE" })).status, id).toBe(204);
    }
    // Dot segments are ids too, for a client that sends them as they are (fetch would resolve them).
    const dots = "odd/./dot/../dots";
    const put = await rawRequest({
      port: server.port,
      method: "PUT",
      path: `/data/${dots}`,
      token: server.token,
      body: "dots",
    });
    expect(put.status).toBe(201);
    expect(rawJson<{ id: string }>(put).id).toBe(dots);
    expect(await listAll(server)).toContain(dots);
    expect(
      (await rawRequest({ port: server.port, method: "DELETE", path: `/data/${dots}`, token: server.token }))
        .status,
    ).toBe(204);
  });

  it("refuses a raw non-ASCII byte in the id with 400", async () => {
    const res = await rawRequest({
      port: server.port,
      method: "PUT",
      path: "/data/caf\u00e9",
      token: server.token,
      body: "x",
    });
    expect(res.status).toBe(400);
  });
});

describe("DELETE and methods", () => {
  it("deletes with 204, then the id is 404; deleting again or an unknown id is 404", async () => {
    await putObject(server, "del/me", randomData(200_000));
    const res = await server.fetch("/data/del/me", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    await expectProblem(await server.fetch("/data/del/me"), 404, "not_found");
    await expectProblem(await server.fetch("/data/del/me", { method: "DELETE" }), 404, "not_found");
    await expectProblem(await server.fetch("/data/never-was", { method: "DELETE" }), 404, "not_found");
    expect(await listAll(server)).not.toContain("del/me");
    // The id can be used again.
    expect((await putObject(server, "del/me", "again")).status).toBe(201);
  });

  it("answers unsupported methods on /data/{id} with 405 and Allow, never 5xx", async () => {
    await putObject(server, "methods/x", "x");
    for (const method of ["PATCH", "POST", "OPTIONS"]) {
      const res = await server.fetch("/data/methods/x", {
        method,
        body: method === "OPTIONS" ? undefined : "{}",
      });
      expect(res.headers.get("allow") ?? "", method).toMatch(/GET/);
      await expectProblem(res, 405, "method_not_allowed");
    }
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const res = await server.fetch("/data", { method, body: method === "DELETE" ? undefined : "{}" });
      await expectProblem(res, 405, "method_not_allowed");
    }
    expect((await getBytes(server, "methods/x")).bytes.toString()).toBe("x");
  });
});

describe("large and concurrent", () => {
  it("stores a 20 MiB chunked upload streamed from a generator byte-identically", async () => {
    const total = 20 * MiB;
    const expected = createHash("sha256");
    for (const c of pseudoRandomChunks("twenty", total)) expected.update(c);
    const want = expected.digest("hex");

    const res = await server.fetch(
      "/data/big/twenty",
      streamedInit("PUT", pseudoRandomChunks("twenty", total), { "content-type": "application/x-big" }),
    );
    const text = await res.text();
    expect(res.status, text).toBe(201);
    expect(JSON.parse(text).size).toBe(total);

    const get = await server.fetch("/data/big/twenty");
    expect(get.status).toBe(200);
    expect(get.headers.get("content-length")).toBe(String(total));
    const h = createHash("sha256");
    let n = 0;
    const reader = get.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      h.update(value);
      n += value.length;
    }
    expect(n).toBe(total);
    expect(h.digest("hex")).toBe(want);

    // A range deep inside it decrypts just that part.
    const full = Buffer.concat([...pseudoRandomChunks("twenty", total)]);
    const start = 13 * MiB + 12345;
    const r = await server.fetch("/data/big/twenty", {
      headers: { range: `bytes=${start}-${start + 200_000}` },
    });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(full.subarray(start, start + 200_001))).toBe(true);
  }, 120_000);

  it("lets a GET that started before a replace finish with exactly the old bytes (or the new), never a mix", async () => {
    const size = 16 * MiB;
    const oldData = randomData(size);
    const newData = randomData(size);
    await putObject(server, "race/one", oldData);

    const res = await server.fetch("/data/race/one");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const parts: Buffer[] = [Buffer.from(first.value!)];

    // Replace while the read is barely started (the client is not reading, so the server is held back).
    const put = await putObject(server, "race/one", newData);
    expect(put.status).toBe(200);
    expect((await getBytes(server, "race/one")).bytes.equals(newData)).toBe(true);

    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(Buffer.from(value));
    }
    const got = Buffer.concat(parts);
    const h = sha256(got);
    expect([sha256(oldData), sha256(newData)]).toContain(h);
    expect(h).toBe(sha256(oldData));
  }, 120_000);

  it("never mixes versions under repeated concurrent reads and replaces", async () => {
    const size = 2 * MiB + 5;
    const versions = new Map<string, Buffer>();
    const first = randomData(size);
    versions.set(sha256(first), first);
    await putObject(server, "race/many", first);
    const errors: string[] = [];
    for (let round = 0; round < 5; round++) {
      const readers = Array.from({ length: 4 }, async () => {
        let res: Response;
        try {
          res = await server.fetch("/data/race/many");
        } catch (err) {
          return `GET failed: ${String(err)} ${String((err as Error).cause)}`;
        }
        if (res.status !== 200) return `status ${res.status} ${await res.text()}`;
        const { bytes, error } = await readBody(res);
        if (error) return `read error ${String(error)} ${String((error as Error).cause)}`;
        return sha256(bytes);
      });
      const next = randomData(size);
      versions.set(sha256(next), next);
      const writer = putObject(server, "race/many", next).then(
        () => null,
        (err) => `PUT failed: ${String(err)} ${String((err as Error).cause)}`,
      );
      const results = await Promise.all([...readers, writer]);
      for (const r of results) if (r !== null && !versions.has(r)) errors.push(`round ${round}: ${r}`);
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
