// A download closed while the store is still answering (a remote store such as PostgreSQL takes a
// while) must not open the late segments with an already zeroed data key and report damage that is
// not there: the key is zeroed only once the stream's generator has finished. Real SQLite store and
// key service; the store's reads are slowed on demand.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { serviceWithSegmentReads } from "../helpers/object-service.js";
import { ADMIN_TOKEN } from "../helpers/tokens.js";

describe("a read closed while a segment batch is being fetched", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it("stops without reporting an integrity failure", async () => {
    const uid = (await t.services.auth.authenticate(ADMIN_TOKEN))!.user.uid;
    // 40 segments of 64 KiB: three fetch batches.
    const body = Buffer.alloc(40 * 65536, 7);
    await t.services.objects.put({ owner: uid, id: "big", body: [body], contentType: "x/y", cond: {} });

    let hold: Promise<void> | null = null;
    let release!: () => void;
    let fetches = 0;
    let started = 0;
    const { objects, failures } = serviceWithSegmentReads(
      t.stores.objects,
      t.services.keys,
      async (read, ...args) => {
        started++;
        const segs = await read(...args);
        fetches++;
        if (hold) await hold;
        return segs;
      },
    );
    const meta = await objects.stat(uid, "big");
    const stream = await objects.read(meta, null);
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Drain the first batch; the second fetch then waits on `hold`.
    let got = 0;
    for await (const chunk of stream) {
      got += (chunk as Buffer).length;
      if (got >= 16 * 65536) break; // leaving the loop destroys the stream
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.destroyed).toBe(true);
    const startedAtClose = started;
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(failures()).toBe(0);
    // A batch read ahead before the close may land after it (and is dropped, never opened); no
    // read starts once the stream is closed.
    expect(started).toBe(startedAtClose);
    expect(fetches).toBeLessThanOrEqual(started);
    await objects.settle();
  });
});
