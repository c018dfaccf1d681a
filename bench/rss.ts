// Memory of the server under test: VmRSS from /proc/<pid>/status, sampled every 50 ms.
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size of `pid` in KiB, or undefined once it has exited. */
export function rssKib(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Every process below `root`, nearest first. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * The process that actually serves. The harness spawns node itself (tsx as a loader), so that is
 * the pid we spawned; its children are helpers such as tsx's esbuild service, never the server.
 * Only a `tsx` CLI wrapper (baseline server) runs the script in a child node process.
 */
export function servingPid(spawnedPid: number): number {
  if (!/tsx\/dist\/cli|\.bin\/tsx/.test(cmdline(spawnedPid))) return spawnedPid;
  const below = descendants(spawnedPid).filter((p) => !/esbuild/.test(cmdline(p)));
  return below.length > 0 ? below[below.length - 1]! : spawnedPid;
}

/** Decimal megabytes (10^6 B), like every other MB in the bench. */
export interface RssReport {
  peakMb: number;
  startMb: number;
  endMb: number;
  samples: number;
}

export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private first: number | undefined;
  private last = 0;
  private count = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 50,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  /** Peak since start (or since the last mark), then keeps sampling. */
  mark(): RssReport {
    this.sample();
    const r = this.report();
    this.peak = this.last;
    this.first = this.last;
    this.count = 1;
    return r;
  }

  stop(): RssReport {
    clearInterval(this.timer);
    this.sample();
    return this.report();
  }

  private sample(): void {
    const kib = rssKib(this.pid);
    if (kib === undefined) return;
    this.first ??= kib;
    this.last = kib;
    this.count++;
    if (kib > this.peak) this.peak = kib;
  }

  private report(): RssReport {
    const mb = (kib: number) => (kib * 1024) / 1e6;
    return { peakMb: mb(this.peak), startMb: mb(this.first ?? 0), endMb: mb(this.last), samples: this.count };
  }
}
