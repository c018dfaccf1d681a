// Root-key rotation and the jobs page.
import { api, type Job } from "../api.js";
import type { PageContext } from "../context.js";
import { clear, h } from "../dom.js";
import { date } from "../format.js";
import { jobKindLabel, jobView, trackedJobs, trackJob } from "../jobs.js";
import { button, card, dialog, emptyState, errorText, notice, pageHeader, spinner } from "../ui.js";

export function rootKeyPage(ctx: PageContext): HTMLElement {
  const jobs = h("div", { class: "jobs-inline" });
  const msg = h("div");
  const info = h("div", null, spinner());
  const load = async () => {
    try {
      const r = await api.rootKey();
      clear(
        info,
        h(
          "div",
          { class: "stats" },
          stat("Key provider", r.provider),
          stat("Primary version", String(r.primaryVersion), "root-primary"),
          stat("Versions in use", r.versions.join(", ")),
        ),
      );
    } catch (e) {
      clear(info, notice("error", errorText(e)));
    }
  };
  const rotate = button("Rotate root key", { icon: "rotate", variant: "primary" });
  rotate.addEventListener("click", async () => {
    let jobId = "";
    const ok = await dialog({
      title: "Rotate the root key?",
      body: h(
        "p",
        null,
        "The key provider makes a new root key version, a job rewraps every user's key-encryption key under it, and the old root versions are then retired. Objects are not touched, and the server keeps working meanwhile.",
      ),
      confirm: "Rotate",
      action: async () => {
        jobId = (await api.rotateRoot()).jobId;
      },
    });
    if (!ok) return;
    clear(msg);
    trackJob(jobId, "Root-key rotation");
    jobs.prepend(jobView(jobId, "Root-key rotation", ctx.signal, () => load()));
  });
  const verify = button("Verify every object", { icon: "shield" });
  verify.addEventListener("click", async () => {
    verify.disabled = true;
    clear(msg);
    try {
      const { jobId } = await api.verify(true);
      trackJob(jobId, "Verification of every object");
      jobs.prepend(jobView(jobId, "Verification of every object", ctx.signal));
    } catch (e) {
      clear(msg, notice("error", errorText(e)));
    } finally {
      verify.disabled = false;
    }
  });
  load();
  return h(
    "div",
    { class: "page" },
    pageHeader("Root key", "The root key, held by the key provider, wraps every user's key-encryption key."),
    card(
      "Versions and rotation",
      info,
      h(
        "p",
        { class: "muted" },
        "Rotate after a suspected exposure or on a schedule. Verification reads and authenticates every stored object. Both run as jobs; their progress shows below and on the Jobs page.",
      ),
      h("div", { class: "card-actions" }, rotate, verify),
      msg,
      jobs,
    ),
  );
}

function stat(label: string, value: string, testId?: string): HTMLElement {
  return h(
    "div",
    { class: "stat" },
    h("span", { class: "stat-label" }, label),
    h("span", { class: "stat-value", "data-testid": testId }, value),
  );
}

export function jobsPage(ctx: PageContext): HTMLElement {
  const list = h("div", { class: "jobs-list" });
  const more = h("div", { class: "load-more" });
  const listErr = h("div");
  const shown = new Set<string>();
  const me = ctx.me.name;
  const labelOf = (job: Job) =>
    h(
      "span",
      null,
      jobKindLabel(job.kind),
      h(
        "span",
        { class: "muted small" },
        [
          job.startedBy && job.startedBy !== me
            ? ` · by ${job.startedBy}`
            : job.startedBy === null
              ? " · by a deleted user"
              : "",
          job.created ? ` · started ${date(job.created)}` : "",
        ].join(""),
      ),
    );
  const add = (job: Job, where: "append" | "prepend") => {
    if (shown.has(job.id)) return;
    shown.add(job.id);
    list.querySelector(".empty")?.remove();
    list[where](jobView(job.id, labelOf(job), ctx.signal, undefined, job));
  };
  const loadPage = async (after?: string) => {
    clear(more);
    try {
      const page = await api.jobs(after);
      for (const job of page.jobs) add(job, "append");
      if (page.next !== null) {
        const next = page.next;
        const b = button("Show older jobs", { variant: "secondary" });
        b.addEventListener("click", () => void loadPage(next));
        more.append(b);
      }
      if (shown.size === 0)
        list.replaceChildren(
          emptyState(
            "activity",
            "No jobs yet",
            "Jobs you start (rewrap, verification, root-key rotation) appear here. Look up one by its id above.",
          ),
        );
    } catch (ex) {
      clear(listErr, notice("error", errorText(ex)));
    }
  };
  void loadPage().then(async () => {
    // Jobs looked up by id in this tab (an admin may follow anyone's) stay on the page.
    for (const t of trackedJobs())
      if (!shown.has(t.id))
        await api.job(t.id).then(
          (job) => add(job, "prepend"),
          () => undefined,
        );
  });
  const idInput = h("input", {
    class: "input mono",
    type: "text",
    placeholder: "job id",
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": "Job id",
  });
  const err = h("div");
  const look = button("Show", { variant: "secondary", type: "submit" });
  const form = h(
    "form",
    { class: "form-row" },
    h("label", { class: "field grow" }, h("span", null, "Job id"), idInput),
    h("div", { class: "field end" }, look),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(err);
    const id = idInput.value.trim();
    if (!id) return;
    try {
      const job = await api.job(id);
      trackJob(job.id, job.kind);
      add(job, "prepend");
      idInput.value = "";
    } catch (ex) {
      clear(err, notice("error", errorText(ex)));
    }
  });
  return h(
    "div",
    { class: "page" },
    pageHeader("Jobs", "Background work: rewraps, verifications and root-key rotations, with live progress."),
    card("Look up a job", form, err),
    card(ctx.me.role === "admin" ? "Every user's jobs" : "Your jobs", listErr, list, more),
  );
}
