// listFolder over the real SQLite store: folders fold ids with a further `/`, pages join up
// without gaps or repeats, and a big folder costs one query to skip.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../src/app.js";
import { type FolderQuery, listFolder } from "../../src/objects/folder-listing.js";
import type { ObjectStore } from "../../src/store/object-store.js";
import type { Stores } from "../../src/store/stores.js";
import { openServices, type TestServices } from "../helpers/app.js";

let opened: TestServices;
let stores: Stores;
let services: Services;
let owner: string;

const IDS = [
  "1",
  "2",
  "10",
  "a.txt",
  "b/1",
  "b/2",
  "b/c/d",
  "bb",
  ...Array.from({ length: 40 }, (_, i) => `big/${String(i).padStart(3, "0")}`),
  "c.txt",
  "d/x",
  "e",
];

beforeAll(async () => {
  opened = await openServices();
  ({ stores, services } = opened);
  owner = (await services.auth.createUser("alice", "user")).uid;
  for (const id of IDS)
    await services.objects.put({ owner, id, body: [Buffer.from(id)], contentType: "text/plain", cond: {} });
});

afterAll(async () => {
  await opened.close();
});

const names = (page: Awaited<ReturnType<typeof listFolder>>) =>
  page.entries.map((e) => (e.kind === "folder" ? e.prefix : e.meta.id));

async function all(q: Omit<FolderQuery, "cursor">, store: ObjectStore = stores.objects): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listFolder(store, owner, { ...q, cursor });
    pages.push(names(page));
    if (!page.next) return pages;
    cursor = page.next;
  }
}

describe("listFolder", () => {
  it("lists every id under a prefix without a delimiter, in list order", async () => {
    expect((await all({ prefix: "", limit: 1000 })).flat()).toEqual(IDS);
    expect((await all({ prefix: "b/", limit: 1000 })).flat()).toEqual(["b/1", "b/2", "b/c/d"]);
  });

  it("folds ids with a further / into folders", async () => {
    expect((await all({ prefix: "", delimiter: "/", limit: 1000 })).flat()).toEqual([
      "1",
      "2",
      "10",
      "a.txt",
      "b/",
      "bb",
      "big/",
      "c.txt",
      "d/",
      "e",
    ]);
    expect((await all({ prefix: "b/", delimiter: "/", limit: 1000 })).flat()).toEqual(["b/1", "b/2", "b/c/"]);
    // A prefix that is not a whole folder name searches: b… at the top level.
    expect((await all({ prefix: "b", delimiter: "/", limit: 1000 })).flat()).toEqual(["b/", "bb", "big/"]);
    expect((await all({ prefix: "zz", delimiter: "/", limit: 10 })).flat()).toEqual([]);
  });

  it("folds by a delimiter of several characters, whole (S3 takes any string)", async () => {
    // big/000 … big/039: "/0" ends big/0; b/c/d has no "/0"; nothing else holds it.
    const folded = (await all({ prefix: "", delimiter: "/0", limit: 1000 })).flat();
    expect(folded).toEqual(
      IDS.flatMap((id) => (id === "big/000" ? ["big/0"] : id.startsWith("big/0") ? [] : [id])),
    );
    // No id that merely starts like the delimiter ("b/1", "b/c/d") is folded or lost.
    expect(folded).toContain("b/1");
    expect(folded).toContain("b/c/d");
    for (const limit of [1, 2, 5])
      expect((await all({ prefix: "", delimiter: "/0", limit })).flat(), `limit ${limit}`).toEqual(folded);
  });

  it("pages join up without gaps or repeats, whatever the page size", async () => {
    const whole = (await all({ prefix: "", delimiter: "/", limit: 1000 })).flat();
    for (const limit of [1, 2, 3, 4, 7]) {
      const pages = await all({ prefix: "", delimiter: "/", limit });
      expect(pages.flat(), `limit ${limit}`).toEqual(whole);
      for (const p of pages.slice(0, -1)) expect(p).toHaveLength(limit);
    }
  });

  it("skips a folder bigger than a page with one query", async () => {
    let calls = 0;
    const counting = new Proxy(stores.objects, {
      get(target, prop, receiver) {
        if (prop === "listObjects") {
          return (...args: Parameters<ObjectStore["listObjects"]>) => {
            calls++;
            return target.listObjects(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const page = await listFolder(counting, owner, { prefix: "bi", delimiter: "/", limit: 2 });
    expect(names(page)).toEqual(["big/"]);
    expect(page.next).toBeNull();
    // One batch that starts in big/, one that starts past it.
    expect(calls).toBe(2);
  });

  it("refuses a cursor it did not issue", async () => {
    for (const cursor of ["!!", "a".repeat(3000), Buffer.from("\u0001x").toString("base64url")])
      await expect(listFolder(stores.objects, owner, { prefix: "", limit: 5, cursor })).rejects.toMatchObject(
        {
          code: "bad_request",
        },
      );
  });
});
