// CompleteMultipartUpload while another part of the same upload is still arriving, on the real
// SQLite store through the real services: S3 joins exactly the parts named, whatever lands meanwhile.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../src/app.js";
import { MultipartService } from "../../src/objects/multipart-service.js";
import type { MultipartStore } from "../../src/store/multipart-store.js";
import type { Stores } from "../../src/store/stores.js";
import { openServices, type TestServices } from "../helpers/app.js";

const MiB = 1024 * 1024;

let stores: Stores;
let opened: TestServices;
let services: Services;
let owner: string;

beforeAll(async () => {
  opened = await openServices();
  ({ stores, services } = opened);
  owner = (await services.auth.createUser("racer", "user")).uid;
}, 60_000);

afterAll(async () => {
  await opened?.close();
});

/** The real multipart store, with `during` run (once) right after a listing of parts was read. */
function afterFirstListing(during: () => Promise<void>): MultipartStore {
  let pending: (() => Promise<void>) | null = during;
  const real = stores.multipart;
  return new Proxy(real, {
    get(target, key) {
      if (key === "listParts")
        return async (...args: Parameters<MultipartStore["listParts"]>) => {
          const rows = await target.listParts(...args);
          const run = pending;
          pending = null;
          if (run) await run();
          return rows;
        };
      const v = Reflect.get(target, key) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describe("Complete while a part arrives", () => {
  it("joins exactly the parts named when an unnamed part commits in the middle of Complete", async () => {
    const id = "race/object.bin";
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(5 * MiB);
    const p3 = randomBytes(123_456);
    const { uploadId } = await services.multipart.create(owner, id, {
      contentType: "application/octet-stream",
      metadata: { contentType: "application/octet-stream" },
    });
    const up = (number: number, body: Buffer) =>
      services.multipart.uploadPart({ owner, id, uploadId, number, body: [body] });
    const e1 = (await up(1, p1)).md5;
    const e3 = (await up(3, p3)).md5;
    // Part 2 is uploaded (by another request) while Complete reads the parts; the client names 1 and 3.
    const completing = new MultipartService(
      afterFirstListing(async () => {
        await up(2, p2);
      }),
      stores.objects,
      services.keys,
      {
        maxObjectBytes: 5 * 1024 ** 4,
        reclaim: () => services.objects.scheduleReclaim(),
      },
    );
    const done = await completing.complete({
      owner,
      id,
      uploadId,
      parts: [
        { number: 1, etag: e1 },
        { number: 3, etag: e3 },
      ],
      cond: {},
    });
    expect(done.size).toBe(p1.length + p3.length);
    const meta = (await services.objects.find(owner, id))!;
    const parts: Buffer[] = [];
    for await (const c of await services.objects.read(meta, null)) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(Buffer.concat([p1, p3]))).toBe(true);
  });
});
