// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: the top frames by self
// time, the project's functions by inclusive time, and a breakdown by package or source file.
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../test/helpers/server-process.js";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FrameShare {
  frame: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idleMs: number;
  topSelf: FrameShare[];
  /** Functions of src/ by inclusive time (each sample counted once per function on its stack). */
  topProjectInclusive: FrameShare[];
  /** Self time by package (node_modules), src/ file, node core, or V8 pseudo-frame. */
  byArea: FrameShare[];
}

const PSEUDO = new Set(["(garbage collector)", "(program)", "(idle)", "(root)"]);

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(ROOT)) u = path.relative(ROOT, u);
  return u.replace(/^node_modules\//, "");
}

/** Whether the frame's script went through tsx, whose output positions do not match the source lines. */
function transpiled(url: string): boolean {
  return /\.[cm]?tsx?$/.test(url);
}

function frameName(cf: CallFrame): string {
  if (PSEUDO.has(cf.functionName)) return cf.functionName;
  const fn = cf.functionName || "(anonymous)";
  if (!cf.url) return `${fn} (native)`;
  return transpiled(cf.url) ? `${fn} ${shortUrl(cf.url)}` : `${fn} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
}

function areaOf(cf: CallFrame): string {
  if (PSEUDO.has(cf.functionName)) return cf.functionName;
  const u = cf.url.replace(/^file:\/\//, "");
  if (!u) return "(native / V8 builtins)";
  if (u.startsWith("node:")) return "node core";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1]!;
  if (u.startsWith(ROOT)) return path.relative(ROOT, u);
  return u;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // An anonymous closure (a callback, a `() => stmt.get(…)`) is named by the two nearest named callers.
  const selfName = (id: number): string => {
    const cf = byId.get(id)!.callFrame;
    const name = frameName(cf);
    if (cf.functionName || !cf.url) return name;
    const callers: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && callers.length < 2; cur = parent.get(cur)) {
      const fn = byId.get(cur)!.callFrame.functionName;
      if (fn && !PSEUDO.has(fn)) callers.push(fn);
    }
    return callers.length > 0 ? `${name} ← ${callers.join(" ← ")}` : name;
  };
  // Sample i lasted until sample i+1 was taken.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  let idleUs = 0;
  let busyUs = 0;
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const name = selfName(id);
    self.set(name, (self.get(name) ?? 0) + us);
    const a = areaOf(node.callFrame);
    area.set(a, (area.get(a) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!cf.url.includes(`${ROOT}/src/`)) continue;
      const key = frameName(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>): FrameShare[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({ frame, ms: us / 1000, pct: busyUs > 0 ? (100 * us) / busyUs : 0 }));
  return {
    file,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    topSelf: rank(self),
    topProjectInclusive: rank(inclusive),
    byArea: rank(area),
  };
}

export function formatProfile(label: string, s: ProfileSummary, top = 12): string {
  const pct = (x: number) => `${x.toFixed(1).padStart(5)}%`;
  const lines = [
    `CPU profile of the server, ${label}: ${(s.busyMs / 1000).toFixed(1)} s busy, ${(s.idleMs / 1000).toFixed(1)} s idle (${shortUrl(s.file)})`,
    "  top frames by self time:",
    ...s.topSelf.slice(0, top).map((f) => `    ${pct(f.pct)}  ${f.frame}`),
    "  self time by area:",
    ...s.byArea.slice(0, 10).map((f) => `    ${pct(f.pct)}  ${f.frame}`),
    "  project functions by inclusive time:",
    ...s.topProjectInclusive.slice(0, top).map((f) => `    ${pct(f.pct)}  ${f.frame}`),
  ];
  return lines.join("\n");
}
