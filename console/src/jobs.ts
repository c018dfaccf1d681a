// Background jobs (rewrap, verification, root-key rotation): the Jobs page lists them from the server
// (GET /jobs); any job can be watched live with a progress bar. A job looked up by id in this tab is
// remembered so it stays on the page (an admin may look up anyone's).
import { api, type Job } from "./api.js";
import { type Child, h } from "./dom.js";
import { bytes } from "./format.js";
import { badge, errorText, notice, progressBar } from "./ui.js";

const KEY = "sse.jobs";
const POLL_MS = 400;

export interface TrackedJob {
  id: string;
  label: string;
  started: string;
}

export function trackedJobs(): TrackedJob[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export function trackJob(id: string, label: string): void {
  const jobs = trackedJobs().filter((j) => j.id !== id);
  jobs.unshift({ id, label, started: new Date().toISOString() });
  sessionStorage.setItem(KEY, JSON.stringify(jobs.slice(0, 50)));
}

function stateBadge(job: Job): HTMLElement {
  if (job.state === "done") return badge("Done", "success");
  if (job.state === "failed") return badge("Failed", "danger");
  return badge("Running", "info");
}

/** What a finished job found, in words. */
function outcome(job: Job): HTMLElement[] {
  const r = job.result;
  if (!r) return [];
  if (typeof r.damagedCount === "number")
    return [
      r.damagedCount === 0
        ? notice(
            "success",
            job.kind === "verify" ? "Every object is intact." : "Every data key was rewrapped.",
          )
        : notice(
            "error",
            `${r.damagedCount} object${r.damagedCount === 1 ? "" : "s"} failed authentication: see the job's result in the API.`,
          ),
    ];
  if (typeof r.rootVersion === "number")
    return [
      notice(
        "success",
        `Root key version ${r.rootVersion} is primary${r.retired?.length ? `; retired: ${r.retired.join(", ")}` : ""}.`,
      ),
    ];
  return [];
}

const KIND_LABELS: Record<string, string> = {
  rewrap: "Rewrap",
  verify: "Verification",
  "root-rotate": "Root-key rotation",
};

/** "Verification", "Rewrap", …: a job's kind in words. */
export function jobKindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/**
 * A live view of one job: label, state, a progress bar with done/total; polls until it ends. With
 * `initial` (a job from a listing) it shows that at once and polls only while the job runs.
 */
export function jobView(
  id: string,
  label: Child,
  signal: AbortSignal,
  onEnd?: (job: Job) => void,
  initial?: Job,
): HTMLElement {
  const bar = progressBar(`Progress of ${typeof label === "string" ? label : "job"}`);
  const stateEl = h("span", null, badge("Starting", "info"));
  const count = h("span", { class: "muted small" }, "");
  const err = h("div");
  const el = h(
    "div",
    { class: "job", "data-job": id },
    h("div", { class: "job-head" }, h("div", { class: "job-label" }, label), stateEl),
    bar.el,
    h("div", { class: "job-foot" }, h("span", { class: "muted small mono" }, `job ${id}`), count),
    err,
  );
  const tick = async (known?: Job) => {
    if (signal.aborted) return;
    try {
      const job = known ?? (await api.job(id));
      // Bytes move the bar while one large object is read; the object count alone would sit still.
      if (job.bytesTotal) bar.set(job.bytesDone ?? 0, job.bytesTotal);
      else bar.set(job.done, job.total);
      const items = `${job.done.toLocaleString()} of ${job.total.toLocaleString()}`;
      count.textContent =
        job.bytesDone === undefined
          ? items
          : job.bytesTotal
            ? `${items} · ${bytes(job.bytesDone)} of ${bytes(job.bytesTotal)}`
            : `${items} · ${bytes(job.bytesDone)}`;
      stateEl.replaceChildren(stateBadge(job));
      if (job.state === "running") {
        setTimeout(() => void tick(), POLL_MS);
        return;
      }
      bar.state(job.state === "done" ? "done" : "failed");
      if (job.state === "done") bar.set(1, 1);
      if (job.state === "failed") err.replaceChildren(notice("error", job.error ?? "The job failed."));
      else err.replaceChildren(...outcome(job));
      onEnd?.(job);
    } catch (e) {
      err.replaceChildren(notice("error", errorText(e)));
    }
  };
  void tick(initial);
  return el;
}
