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

/** An owner's ids handed out by this process and not yet committed. */
interface Allocation {
  highWater: number;
  inFlight: number;
}

/** The seed's items of one object service. */
export class ItemService {
  readonly #objects: ObjectService;
  /**
   * The ids this process has handed out per owner, while any of them is being written: concurrent
   * POSTs of one owner get distinct ids (and commit together) instead of all racing for the
   * greatest id + 1. Only another process (or a PUT to an integer id) can still take an id between
   * allocation and commit; the commit's If-None-Match then fails and we allocate again.
   */
  readonly #allocations = new Map<string, Allocation>();

  constructor(objects: ObjectService) {
    this.#objects = objects;
  }

  /** Stores an item under `requestedId` when free, else under the next free integer id. */
  async create(owner: string, requestedId: number | undefined, data: string): Promise<Item> {
    if (data.length === 0) throw new AppError("empty_data", "data must not be empty");
    const bytes = Buffer.from(data, "utf8");
    const write = async (id: number): Promise<Item> => {
      await this.#objects.put({
        owner,
        id: String(id),
        body: [bytes],
        // Known up front: a small item takes the suite of small writes (cipher-choice.ts).
        contentLength: bytes.length,
        contentType: ITEM_CONTENT_TYPE,
        cond: { ifNoneMatch: true },
        kind: "item",
      });
      return { id, data };
    };
    const taken = (err: unknown) => err instanceof AppError && err.code === "precondition_failed";
    if (requestedId !== undefined) {
      try {
        return await write(requestedId);
      } catch (err) {
        if (!taken(err)) throw err;
      }
    }
    for (let attempt = 1; attempt <= MAX_ALLOCATION_ATTEMPTS; attempt++) {
      try {
        return await this.#allocate(owner, write);
      } catch (err) {
        if (!taken(err)) throw err;
        // Another process took the id: a random pause keeps the processes from colliding in step.
        await delay(Math.random() * 2 * attempt);
      }
    }
    throw new AppError("conflict", "could not allocate an item id under contention; retry");
  }

  async #allocate<T>(owner: string, write: (id: number) => Promise<T>): Promise<T> {
    const byOwner = this.#allocations;
    const max = await this.#objects.store.maxIntegerId(owner);
    // No await between here and the reservation: the next caller sees this one's id.
    const state = byOwner.get(owner) ?? { highWater: Number.NEGATIVE_INFINITY, inFlight: 0 };
    byOwner.set(owner, state);
    const id = Math.max(max ?? 0, state.highWater) + 1;
    if (!Number.isSafeInteger(id)) throw new AppError("conflict", "no free integer id is left");
    state.highWater = id;
    state.inFlight++;
    try {
      return await write(id);
    } finally {
      if (--state.inFlight === 0 && byOwner.get(owner) === state) byOwner.delete(owner);
    }
  }
}
