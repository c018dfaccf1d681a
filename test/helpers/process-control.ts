// A server process under test: what it has in flight, and a real kill -9 of it.
import { readdirSync, readFileSync } from "node:fs";
import { metricValue, parseMetrics } from "./prometheus.js";
import type { ServerProcess } from "./server-process.js";
import { waitFor } from "./wait-for.js";

/** The server has an upload in hand: it shows in the in-flight gauge (`count` of them). */
export async function uploadInFlight(server: ServerProcess, count = 1): Promise<void> {
  const labels = { method: "PUT", route: "/data/*" };
  await waitFor("the upload to be in flight", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return metricValue(parseMetrics(text), "sse_http_requests_in_flight", labels) === count;
  });
}

/** Every process below `pid` (Linux /proc), children first in the list order of discovery. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      // Fields after the parenthesised command name: state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * A real `kill -9` of the server. The harness's kill() signals the tsx wrapper only, and SIGKILL
 * cannot be relayed, so the node process that serves would live on as an orphan; kill it first.
 */
export async function killHard(server: ServerProcess): Promise<void> {
  const pid = server.proc.pid;
  if (pid !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) {
    for (const p of descendants(pid).reverse()) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  await server.kill();
  // Nothing may still answer on its port.
  await waitFor("the killed server to stop answering", async () => {
    try {
      await fetch(`${server.url}/health`);
      return false;
    } catch {
      return true;
    }
  });
}
