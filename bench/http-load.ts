// autocannon helpers: a warm-up run, then a measured run, counting only 2xx answers as throughput.
import autocannon from "autocannon";

export interface LoadOptions {
  url: string;
  method: "GET" | "POST" | "PUT";
  connections: number;
  duration: number;
  warmup: number;
  headers?: Record<string, string>;
  body?: string;
  /** Path of each request in turn; a fixed path when absent. */
  nextPath?: () => string;
  path?: string;
  /** Called between the warm-up and the measured run (to start CPU meters and the like). */
  beforeMeasure?: () => void;
}

export interface LoadResult {
  /** 2xx answers per second over the measured run. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Status codes seen, with counts. */
  statuses: Record<string, number>;
}

function run(o: LoadOptions, duration: number): Promise<autocannon.Result> {
  const request: autocannon.Request = { method: o.method, path: o.path ?? "/" };
  if (o.nextPath) {
    const next = o.nextPath;
    request.setupRequest = (req) => ({ ...req, path: next() });
  }
  return autocannon({
    url: o.url,
    connections: o.connections,
    duration,
    headers: o.headers,
    body: o.body,
    requests: [request],
  });
}

export async function measureLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.warmup > 0) await run(o, o.warmup);
  o.beforeMeasure?.();
  const r = await run(o, o.duration);
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = s.count ?? 0;
  return {
    rps: r["2xx"] / r.duration,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    statuses,
  };
}

/** Runs `task` over `inputs` with at most `concurrency` in flight (used to preload items). */
export async function pool<T, R>(
  inputs: readonly T[],
  concurrency: number,
  task: (x: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      out[i] = await task(inputs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  return out;
}
