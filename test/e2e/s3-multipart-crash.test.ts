// kill -9 during multipart uploads, against a real server process on SQLite: a part whose body is
// still flowing, a part whose last byte just left, and CompleteMultipartUpload sent right before the
// kill. After a restart nothing acknowledged is lost (a part that got its 200 is listed and completes;
// a Complete that got its 200 is a readable object), no partial object is ever visible (GET gives the
// old object, or NoSuchKey, or the whole new one), and the space of interrupted part writes comes back.
import { createHash, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api-client.js";
import { killHard } from "../helpers/process-control.js";
import {
  type S3Endpoint,
  type S3RawResponse,
  s3Call,
  s3Exchange,
  xmlElements,
  xmlText,
} from "../helpers/s3-raw.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";
import { storedBlobBytes } from "../helpers/stored-bytes.js";
import { withSegments } from "../helpers/stored-segments.js";
import { KiB, MiB } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

const BUCKET = "crash";

let dataDir: string;
let server: ServerProcess;
let keys: { accessKeyId: string; secretAccessKey: string };
const servers: ServerProcess[] = [];

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const endpoint = (): S3Endpoint => ({ port: server.s3Port, ...keys });
const objectPath = (key: string) => `/${BUCKET}/${key}`;

async function start(): Promise<void> {
  server = await startServer({ dataDir, s3: true });
  servers.push(server);
}

async function restartAfterKill(): Promise<void> {
  await killHard(server);
  await start();
}

function expectStatus(r: S3RawResponse, status: number, what: string): void {
  expect(r.status, `${what}: ${r.body.toString()}`).toBe(status);
}

async function createUpload(key: string): Promise<string> {
  const r = await s3Call(endpoint(), { method: "POST", path: objectPath(key), query: { uploads: "" } });
  expectStatus(r, 200, "CreateMultipartUpload");
  return xmlText(r.body, "UploadId")!;
}

async function uploadPart(key: string, uploadId: string, n: number, body: Buffer): Promise<void> {
  const r = await s3Call(endpoint(), {
    method: "PUT",
    path: objectPath(key),
    query: { partNumber: String(n), uploadId },
    body,
  });
  expectStatus(r, 200, `UploadPart ${n}`);
  expect(r.headers.etag).toBe(`"${md5(body)}"`);
}

interface ListedPart {
  number: number;
  etag: string;
  size: number;
}

/** ListParts, or null for NoSuchUpload. */
async function listParts(key: string, uploadId: string): Promise<ListedPart[] | null> {
  const r = await s3Call(endpoint(), { method: "GET", path: objectPath(key), query: { uploadId } });
  if (r.status === 404) {
    expect(xmlText(r.body, "Code")).toBe("NoSuchUpload");
    return null;
  }
  expectStatus(r, 200, "ListParts");
  return xmlElements(r.body, "Part").map((p) => ({
    number: Number(xmlText(p, "PartNumber")),
    etag: (xmlText(p, "ETag") ?? "").replaceAll("&quot;", "").replaceAll('"', ""),
    size: Number(xmlText(p, "Size")),
  }));
}

function completeXml(parts: { number: number; etag: string }[]): Buffer {
  const inner = parts.map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>"${p.etag}"</ETag></Part>`);
  return Buffer.from(`<CompleteMultipartUpload>${inner.join("")}</CompleteMultipartUpload>`);
}

function completeRequest(key: string, uploadId: string, parts: { number: number; etag: string }[]) {
  return { method: "POST", path: objectPath(key), query: { uploadId }, body: completeXml(parts) };
}

/** GET: the bytes, or null for NoSuchKey. */
async function getObject(key: string): Promise<Buffer | null> {
  const r = await s3Call(endpoint(), { method: "GET", path: objectPath(key) });
  if (r.status === 404) {
    expect(xmlText(r.body, "Code")).toBe("NoSuchKey");
    return null;
  }
  expectStatus(r, 200, `GET ${key}`);
  return r.body;
}

/** A body of `size` bytes that stops after `before` bytes until `release` resolves (never, here). */
async function* stalling(data: Buffer, before: number, release: Promise<void>): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < data.length; sent += 64 * KiB) {
    if (sent >= before) await release;
    yield data.subarray(sent, Math.min(data.length, sent + 64 * KiB));
  }
}

/** Segments stored for writes still registered as uploads (part writes in flight), wherever they lie. */
function inFlightSegments(): number {
  return withSegments(dataDir, (s) => {
    const uploads = s.db.prepare("SELECT write_id FROM uploads").pluck().all() as Buffer[];
    let n = 0;
    for (const w of uploads) n += s.count(w);
    return n;
  });
}

const storedBytes = () => storedBlobBytes(path.join(dataDir, "objects.db"));

/** The sizes of every object in the bucket (ListObjectsV2, all pages). */
async function objectBytes(): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const r = await s3Call(endpoint(), {
      method: "GET",
      path: `/${BUCKET}`,
      query: { "list-type": "2", ...(token ? { "continuation-token": token } : {}) },
    });
    expectStatus(r, 200, "ListObjectsV2");
    for (const c of xmlElements(r.body, "Contents")) total += Number(xmlText(c, "Size"));
    token = xmlText(r.body, "NextContinuationToken");
  } while (token);
  return total;
}

/**
 * Waits until what is stored is what should be: the objects, plus `inProgress` bytes of acknowledged
 * parts of uploads not completed, plus the format's overhead, and no more.
 */
async function expectSpaceReclaimed(inProgress: number, what: string): Promise<void> {
  const limit = ((await objectBytes()) + inProgress) * 1.01 + 256 * KiB;
  await waitFor(what, () => storedBytes() <= limit, { timeoutMs: 30_000 }).catch(() => undefined);
  expect(storedBytes(), what).toBeLessThanOrEqual(limit);
}

/** Requests sent at once, with how many have been answered so far. */
function answers(responses: Promise<S3RawResponse>[]) {
  const got: (S3RawResponse | null)[] = responses.map(() => null);
  for (const [i, p] of responses.entries())
    p.then(
      (r) => {
        got[i] = r;
      },
      () => undefined,
    );
  return {
    count: () => got.filter((r) => r !== null).length,
    acked: () => got.map((r) => r?.status === 200),
  };
}

beforeAll(async () => {
  dataDir = tempDir("sse-e2e-mpcrash-");
  await start();
  const r = await call(server, "POST", "/users/admin/access-keys", server.token, { label: "crash" });
  expect(r.status, r.text).toBe(201);
  keys = { accessKeyId: r.json.accessKeyId, secretAccessKey: r.json.secretAccessKey };
  expectStatus(await s3Call(endpoint(), { method: "PUT", path: `/${BUCKET}` }), 200, "CreateBucket");
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => killHard(s)));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe("kill -9 during UploadPart", () => {
  it("keeps the acknowledged parts, drops the ones in flight, and gives their space back", async () => {
    const key = "during-part/object.bin";
    const uploadId = await createUpload(key);
    const p1 = randomBytes(5 * MiB);
    const p3 = randomBytes(300 * KiB);
    await uploadPart(key, uploadId, 1, p1);
    await uploadPart(key, uploadId, 3, p3);
    const acked = p1.length + p3.length;
    await expectSpaceReclaimed(acked, "the stored parts, before any kill");

    for (let round = 0; round < 3; round++) {
      // Part 2 for the first time, and part 1 again (a retry that would replace an acknowledged
      // part), both flowing slowly when the server dies.
      const never = new Promise<void>(() => undefined);
      const flows = await Promise.all(
        [2, 1].map((n) =>
          s3Exchange(endpoint(), {
            method: "PUT",
            path: objectPath(key),
            query: { partNumber: String(n), uploadId },
            headers: { "content-length": String(5 * MiB) },
            body: stalling(randomBytes(5 * MiB), 2 * MiB + 512 * KiB, never),
          }),
        ),
      );
      // Both have stored batches of sealed segments (a batch is 16 segments) when the kill comes.
      await waitFor("both parts' first segments to be stored", () => inFlightSegments() >= 32);
      await restartAfterKill();
      for (const f of flows) await expect(f.response).rejects.toThrow();

      expect(await listParts(key, uploadId)).toEqual([
        { number: 1, etag: md5(p1), size: p1.length },
        { number: 3, etag: md5(p3), size: p3.length },
      ]);
      // The interrupted writes are swept at start; the space they took does not pile up.
      await expectSpaceReclaimed(acked, `the interrupted part writes of round ${round} reclaimed`);
    }

    const p2 = randomBytes(5 * MiB);
    await uploadPart(key, uploadId, 2, p2);
    const parts = [p1, p2, p3].map((p, i) => ({ number: i + 1, etag: md5(p) }));
    expectStatus(await s3Call(endpoint(), completeRequest(key, uploadId, parts)), 200, "Complete");
    expect((await getObject(key))?.equals(Buffer.concat([p1, p2, p3]))).toBe(true);
  }, 240_000);

  it("a part whose last byte had left when the server died is there whole, or not at all", async () => {
    // Several uploads per kill, killed a little later each time: some parts commit, some do not.
    const outcomes = { committed: 0, lost: 0 };
    for (let round = 0; round < 3; round++) {
      const uploads = await Promise.all(
        [0, 1, 2, 3].map(async (j) => {
          const key = `last-byte/r${round}-u${j}.bin`;
          return { key, uploadId: await createUpload(key), body: randomBytes(5 * MiB + j * 1000) };
        }),
      );
      const sends = [];
      for (const u of uploads) {
        const x = await s3Exchange(endpoint(), {
          method: "PUT",
          path: objectPath(u.key),
          query: { partNumber: "1", uploadId: u.uploadId },
          body: u.body,
        });
        sends.push({ ...u, x });
      }
      for (const s of sends) await s.x.sent;
      // Round r kills once r parts were answered: right after the last byte left, then later.
      const seen = answers(sends.map((s) => s.x.response));
      await waitFor(`${round} parts answered`, () => seen.count() >= round);
      const acked = seen.acked();
      await restartAfterKill();
      for (const [j, s] of sends.entries()) {
        const listed = await listParts(s.key, s.uploadId);
        expect(listed, s.key).not.toBeNull();
        if (acked[j]) expect(listed, `${s.key} was acknowledged`).toHaveLength(1);
        if (listed!.length === 0) {
          outcomes.lost++;
          await uploadPart(s.key, s.uploadId, 1, s.body);
        } else {
          outcomes.committed++;
          expect(listed).toEqual([{ number: 1, etag: md5(s.body), size: s.body.length }]);
        }
        const done = await s3Call(
          endpoint(),
          completeRequest(s.key, s.uploadId, [{ number: 1, etag: md5(s.body) }]),
        );
        expectStatus(done, 200, `Complete ${s.key}`);
        expect((await getObject(s.key))?.equals(s.body), s.key).toBe(true);
      }
    }
    expect(outcomes.committed + outcomes.lost).toBe(12);
  }, 240_000);
});

describe("kill -9 during CompleteMultipartUpload", () => {
  it("leaves each object as it was or whole, and every acknowledged Complete readable", async () => {
    const outcomes = { before: 0, after: 0 };
    for (let round = 0; round < 4; round++) {
      const jobs = await Promise.all(
        [0, 1, 2, 3].map(async (j) => {
          const key = `complete/r${round}-o${j}.bin`;
          // Half replace an object that exists: GET must then give it or the new one, never a mix.
          const old = j % 2 === 0 ? randomBytes(700 * KiB) : null;
          if (old)
            expectStatus(
              await s3Call(endpoint(), { method: "PUT", path: objectPath(key), body: old }),
              200,
              "PUT old",
            );
          const uploadId = await createUpload(key);
          const parts = j < 2 ? [randomBytes(5 * MiB), randomBytes(200 * KiB)] : [randomBytes(333 * KiB)];
          for (const [i, p] of parts.entries()) await uploadPart(key, uploadId, i + 1, p);
          return { key, old, uploadId, parts, whole: Buffer.concat(parts) };
        }),
      );
      // The four Completes go out back to back; round r kills once r of them were answered.
      const sends = [];
      for (const job of jobs) {
        const x = await s3Exchange(
          endpoint(),
          completeRequest(
            job.key,
            job.uploadId,
            job.parts.map((p, i) => ({ number: i + 1, etag: md5(p) })),
          ),
        );
        await x.sent;
        sends.push({ job, x });
      }
      const seen = answers(sends.map((s) => s.x.response));
      await waitFor(`${round} Completes answered`, () => seen.count() >= round);
      const acked = seen.acked();
      await restartAfterKill();

      for (const [j, { job }] of sends.entries()) {
        const got = await getObject(job.key);
        const isNew = got?.equals(job.whole) === true;
        if (acked[j]) expect(isNew, `${job.key}: its Complete was acknowledged`).toBe(true);
        if (isNew) {
          outcomes.after++;
          // Committed: the upload is gone with it.
          expect(await listParts(job.key, job.uploadId)).toBeNull();
        } else {
          outcomes.before++;
          // Not committed: the object is exactly what it was, and the upload still completes.
          if (job.old) expect(got?.equals(job.old), `${job.key}: the old object, whole`).toBe(true);
          else expect(got, `${job.key}: no object`).toBeNull();
          const listed = await listParts(job.key, job.uploadId);
          expect(listed?.map((p) => p.etag)).toEqual(job.parts.map(md5));
          const again = await s3Call(
            endpoint(),
            completeRequest(
              job.key,
              job.uploadId,
              job.parts.map((p, i) => ({ number: i + 1, etag: md5(p) })),
            ),
          );
          expectStatus(again, 200, `Complete ${job.key} again`);
          expect((await getObject(job.key))?.equals(job.whole)).toBe(true);
        }
        // The listing agrees with what GET gave.
        const listing = await s3Call(endpoint(), {
          method: "GET",
          path: `/${BUCKET}`,
          query: { "list-type": "2", prefix: job.key },
        });
        expect(xmlText(listing.body, "Size")).toBe(String(job.whole.length));
      }
    }
    expect(outcomes.before + outcomes.after).toBe(16);
    // Rounds 1-3 killed after 1-3 answers: those Completes were committed.
    expect(outcomes.after).toBeGreaterThanOrEqual(6);
    // Replaced objects and the parts of completed uploads leave nothing behind.
    await expectSpaceReclaimed(0, "replaced objects and completed uploads reclaimed");
  }, 300_000);
});
