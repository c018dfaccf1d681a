// The seed's item view: {"id": int, "data": str} records, stored as small encrypted objects.
// An item takes the requested id when it is free, otherwise the next free integer.
import { setTimeout as delay } from "node:timers/promises";
import { AppError } from "../errors.js";
import type { ObjectService } from "./object-service.js";

export const ITEM_CONTENT_TYPE = "text/plain; charset=utf-8";
/** Retries when another writer takes the id between allocation and commit. */
const MAX_ALLOCATION_ATTEMPTS = 20;

export interface Item {
  id: number;
  data: string;
}

/**
 * Per service and owner, the allocations of this process run one at a time: they would all race for
 * the same next id, and all but one would lose each round. Only other processes (or a PUT to an
 * integer id) can still take an id between allocation and commit.
 */
const queues = new WeakMap<ObjectService, Map<string, Promise<unknown>>>();

function serialized<T>(objects: ObjectService, owner: string, fn: () => Promise<T>): Promise<T> {
  let byOwner = queues.get(objects);
  if (!byOwner) {
    byOwner = new Map();
    queues.set(objects, byOwner);
  }
  const run = (byOwner.get(owner) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  byOwner.set(owner, tail);
  void tail.then(() => {
    if (byOwner.get(owner) === tail) byOwner.delete(owner);
  });
  return run;
}

export async function createItem(
  objects: ObjectService,
  owner: string,
  requestedId: number | undefined,
  data: string,
): Promise<Item> {
  if (data.length === 0) throw new AppError("empty_data", "data must not be empty");
  const bytes = Buffer.from(data, "utf8");
  return serialized(objects, owner, async () => {
    let tryRequested = requestedId !== undefined;
    for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
      let id: number;
      if (tryRequested && requestedId !== undefined) {
        id = requestedId;
        tryRequested = false;
      } else {
        const max = await objects.store.maxIntegerId(owner);
        id = max === null ? 1 : max + 1;
        if (!Number.isSafeInteger(id)) throw new AppError("conflict", "no free integer id is left");
      }
      try {
        await objects.put({
          owner,
          id: String(id),
          body: [bytes],
          contentType: ITEM_CONTENT_TYPE,
          cond: { ifNoneMatch: true },
          kind: "item",
        });
        return { id, data };
      } catch (err) {
        if (!(err instanceof AppError && err.code === "precondition_failed")) throw err;
        // Another process took the id: a random pause keeps the processes from colliding in step.
        if (attempt > 0) await delay(Math.random() * 2 * attempt);
      }
    }
    throw new AppError("conflict", "could not allocate an item id under contention; retry");
  });
}
