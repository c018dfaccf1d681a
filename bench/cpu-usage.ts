// CPU time a process spent between two points, from /proc/<pid>/stat (utime + stime), so a load
// run can tell whether the server or the load generator was the one saturated.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Starts a stopwatch of `pid`'s CPU; the returned function gives the cores used on average since. */
export function cpuMeter(pid: number): () => { cpuSeconds: number; cores: number } {
  const c0 = cpuSeconds(pid) ?? 0;
  const t0 = performance.now();
  return () => {
    const used = (cpuSeconds(pid) ?? c0) - c0;
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
  const t0 = performance.now();
  return () => {
    const m1 = machineTicks();
    const wall = (performance.now() - t0) / 1000;
    if (wall <= 0) return 0;
    const machineCores = (m1.busy - m0.busy) / TICKS_PER_SECOND / wall;
    const mine = self().cores + procs.reduce((s, p) => s + p().cores, 0);
    return Math.max(0, machineCores - mine);
  };
}
