// Progress bars on stderr (only on a terminal): bytes with rate and ETA for transfers, done/total for jobs.

import cliProgress from "cli-progress";
import { formatBytes } from "../api/size-format.js";

export interface TransferProgress {
  add(bytes: number): void;
  stop(): void;
}

/** What a job bar shows: objects (or key versions), and bytes where the job counts them (verify). */
export interface JobCounts {
  done?: number;
  total?: number;
  bytesDone?: number;
  bytesTotal?: number;
  state: string;
}

export interface JobProgress {
  update(job: JobCounts): void;
  stop(): void;
}

const NOOP_TRANSFER: TransferProgress = { add() {}, stop() {} };
const NOOP_JOB: JobProgress = { update() {}, stop() {} };

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Smoothed bytes per second, so the rate and the ETA do not jump with every chunk. */
export class RateMeter {
  #rate = 0;
  #lastT: number;
  #lastBytes = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#lastT = now();
  }
  sample(bytes: number): number {
    const t = this.#now();
    const dt = (t - this.#lastT) / 1000;
    if (dt >= 0.25) {
      const inst = (bytes - this.#lastBytes) / dt;
      this.#rate = this.#rate === 0 ? inst : 0.7 * this.#rate + 0.3 * inst;
      this.#lastT = t;
      this.#lastBytes = bytes;
    }
    return this.#rate;
  }
}

export function transferProgress(
  enabled: boolean,
  stream: NodeJS.WritableStream,
  label: string,
  total: number | undefined,
): TransferProgress {
  if (!enabled) return NOOP_TRANSFER;
  const known = total !== undefined && total > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: known
        ? `${label} {bar} {percentage}% | {done}/{size} | {rate} | ETA {left}`
        : `${label} {done} | {rate}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  const meter = new RateMeter();
  let bytes = 0;
  const payload = () => {
    const rate = meter.sample(bytes);
    return {
      done: formatBytes(bytes),
      size: known ? formatBytes(total) : "?",
      rate: rate > 0 ? `${formatBytes(rate)}/s` : "-",
      left: known && rate > 0 ? formatEta((total - bytes) / rate) : "--:--",
    };
  };
  bar.start(known ? total : 1, 0, payload());
  return {
    add(n) {
      bytes += n;
      bar.update(known ? Math.min(bytes, total) : 0, payload());
    },
    stop() {
      bar.stop();
    },
  };
}

/** The job bar's position and labels; it follows bytes when the job counts them. */
export function jobBar(job: JobCounts): {
  value: number;
  max: number;
  items: string;
  bytes: string;
  state: string;
} {
  const done = job.done ?? 0;
  const total = job.total ?? 0;
  const byBytes = job.bytesTotal !== undefined && job.bytesTotal > 0;
  const bytes =
    job.bytesDone === undefined
      ? ""
      : `${formatBytes(job.bytesDone)}${byBytes ? ` of ${formatBytes(job.bytesTotal ?? 0)}` : ""} | `;
  return {
    value: Math.min(byBytes ? (job.bytesDone ?? 0) : done, Number.MAX_SAFE_INTEGER),
    max: Math.max(byBytes ? (job.bytesTotal ?? 0) : total, 1),
    items: `${done}/${total}`,
    bytes,
    state: job.state,
  };
}

export function jobProgress(enabled: boolean, stream: NodeJS.WritableStream, label: string): JobProgress {
  if (!enabled) return NOOP_JOB;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // Bytes move the bar while one large object is read, where the object count would sit at
      // 1/3008 for minutes.
      format: `${label} {bar} {percentage}% | {items} | {bytes}{state}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
      fps: 4,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      const { value, max, ...payload } = jobBar(job);
      if (!started) {
        bar.start(max, value, payload);
        started = true;
      } else {
        bar.setTotal(max);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
