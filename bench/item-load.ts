// The seed's item API under load: preload a pool of 1 KiB items, then GET over the pool or POST new
// ones. Works against the SSE server and the baseline alike (the baseline ignores the token), so
// suites comparing tokens, key providers or stores reuse it.
import { type LoadResult, measureLoad, pool } from "./http-load.js";

export const ITEM_BYTES = 1024;
/** 1 KiB of printable data, the same for every request. */
export const ITEM_DATA = "x".repeat(ITEM_BYTES);

export interface ItemTarget {
  url: string;
  /** Bearer token; omitted for the baseline. */
  token?: string;
}

export interface LoadShape {
  connections: number;
  duration: number;
  warmup: number;
  beforeMeasure?: () => void;
}

function headers(t: ItemTarget, json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (t.token) h.authorization = `Bearer ${t.token}`;
  if (json) h["content-type"] = "application/json";
  return h;
}

/** Creates `count` items and returns their ids. */
export async function preloadItems(t: ItemTarget, count: number, concurrency = 8): Promise<number[]> {
  const body = JSON.stringify({ data: ITEM_DATA });
  return pool(Array.from({ length: count }), concurrency, async () => {
    const r = await fetch(`${t.url}/data`, { method: "POST", headers: headers(t, true), body });
    if (r.status !== 200) throw new Error(`preload POST /data answered ${r.status}: ${await r.text()}`);
    const item = (await r.json()) as { id: number; data: string };
    if (item.data !== ITEM_DATA) throw new Error("preload POST /data echoed different data");
    return item.id;
  });
}

/** Checks one GET answers the seed's shape before hammering it. */
export async function checkItem(t: ItemTarget, id: number): Promise<void> {
  const r = await fetch(`${t.url}/data/${id}`, { headers: headers(t, false) });
  const item = (await r.json()) as { id: number; data: string };
  if (r.status !== 200 || item.id !== id || item.data !== ITEM_DATA)
    throw new Error(`GET /data/${id} answered ${r.status} with an unexpected body`);
}

export function itemGetLoad(t: ItemTarget, ids: readonly number[], shape: LoadShape): Promise<LoadResult> {
  let i = 0;
  return measureLoad({
    url: t.url,
    method: "GET",
    ...shape,
    headers: headers(t, false),
    nextPath: () => `/data/${ids[i++ % ids.length]}`,
  });
}

export function itemPostLoad(t: ItemTarget, shape: LoadShape): Promise<LoadResult> {
  return measureLoad({
    url: t.url,
    method: "POST",
    path: "/data",
    ...shape,
    headers: headers(t, true),
    body: JSON.stringify({ data: ITEM_DATA }),
  });
}
