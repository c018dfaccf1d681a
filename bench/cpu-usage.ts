// CPU time a process spent between two points, from /proc/<pid>/stat (utime + stime), so a load
// run can tell whether the server or the load generator was the one saturated.
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU of a process and its children: its own, its reaped children's, and its live children's. */
function treeCpuSeconds(root: number): number | undefined {
  let total: number;
  try {
    const f = readFileSync(`/proc/${root}/stat`, "utf8").split(") ").at(-1)!.split(" ");
    // utime, stime, cutime, cstime: fields 14-17 of the line, 12-15 after the command name.
    total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ").at(-1)!.split(" ");
      if (Number(f[1]) === root) total += (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/**
 * Process trees that belong to the system under test although the bench did not start them as its
 * server (the PostgreSQL of a `--store postgres` run): their CPU is not counted as other load.
 */
const partOfTheTest = new Set<number>();

export function countAsPartOfTheTest(rootPid: number): () => void {
  partOfTheTest.add(rootPid);
  return () => partOfTheTest.delete(rootPid);
}

/** Starts a stopwatch of `pid`'s CPU; the returned function gives the cores used on average since. */
export function cpuMeter(pid: number): () => { cpuSeconds: number; cores: number } {
  // With its children: a server with SSE_WORKERS > 1 serves from worker processes below it.
  const c0 = treeCpuSeconds(pid) ?? 0;
  const t0 = performance.now();
  return () => {
    const used = (treeCpuSeconds(pid) ?? c0) - c0;
    const wall = (performance.now() - t0) / 1000;
    return { cpuSeconds: used, cores: wall > 0 ? used / wall : 0 };
  };
}

/** The bench process itself (the load generator). */
export function selfCpuMeter(): () => { cpuSeconds: number; cores: number } {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const u = process.cpuUsage(u0);
    const used = (u.user + u.system) / 1e6;
    const wall = (performance.now() - t0) / 1000;
    return { cpuSeconds: used, cores: wall > 0 ? used / wall : 0 };
  };
}

/** Busy and total CPU ticks of the whole machine (all cores), from the first line of /proc/stat. */
function machineTicks(): { busy: number; all: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, all: busy + idle! + iowait! };
}

/**
 * Starts a stopwatch of the machine; the returned function gives the cores that processes other
 * than `ours` (pids) and this one used meanwhile, steal time included: the noise in a figure.
 */
export function otherLoadMeter(ours: number[]): () => number {
  const m0 = machineTicks();
  const self = selfCpuMeter();
  const procs = ours.map((pid) => cpuMeter(pid));
  const trees = [...partOfTheTest].map((root) => ({ root, c0: treeCpuSeconds(root) ?? 0 }));
  const t0 = performance.now();
  return () => {
    const m1 = machineTicks();
    const wall = (performance.now() - t0) / 1000;
    if (wall <= 0) return 0;
    const machineCores = (m1.busy - m0.busy) / TICKS_PER_SECOND / wall;
    const treeCores = trees.reduce((s, t) => s + ((treeCpuSeconds(t.root) ?? t.c0) - t.c0) / wall, 0);
    const mine = self().cores + procs.reduce((s, p) => s + p().cores, 0) + treeCores;
    return Math.max(0, machineCores - mine);
  };
}
