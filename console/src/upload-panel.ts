// The uploads panel: a queue of files, a few at a time, each with its own progress bar and a clear
// outcome (done, too large, already exists → replace, network → retry, cancelled). It lives outside
// the pages, so uploads go on while the user browses elsewhere.
import { ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { bytes } from "./format.js";
import { icon } from "./icons.js";
import { badge, button, iconButton, type ProgressBar, progressBar } from "./ui.js";
import { idForFileName, putFile, UploadAborted, type UploadHandle } from "./upload.js";

const CONCURRENCY = 2;

type State = "queued" | "uploading" | "done" | "failed" | "conflict" | "cancelled";

interface Entry {
  file: File;
  id: string;
  replace: boolean;
  state: State;
  handle: UploadHandle | null;
  row: HTMLElement;
  bar: ProgressBar;
  status: HTMLElement;
  actions: HTMLElement;
}

export class UploadPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly entries: Entry[] = [];
  private readonly listeners = new Set<(id: string) => void>();
  private readonly toggle: HTMLButtonElement;
  private wasActive = false;

  constructor(private readonly maxObjectBytes: number) {
    this.list = h("ul", { class: "upload-list" });
    this.summary = h("span", { class: "upload-summary" });
    const clearDone = button("Clear finished", { variant: "ghost small" });
    clearDone.addEventListener("click", () => this.clearFinished());
    this.toggle = iconButton("chevronDown", "Collapse uploads", { "aria-expanded": "true" });
    this.toggle.addEventListener("click", () => this.collapse(!this.el.classList.contains("collapsed")));
    const close = iconButton("close", "Hide uploads");
    close.addEventListener("click", () => {
      this.clearFinished();
      this.el.hidden = true;
    });
    this.el = h(
      "section",
      { class: "upload-panel", "aria-label": "Uploads", hidden: true },
      h(
        "header",
        null,
        icon("upload"),
        this.summary,
        h("span", { class: "spacer" }),
        clearDone,
        this.toggle,
        close,
      ),
      this.list,
    );
  }

  /** Folds the list away (header only), so a finished batch stops covering the page. */
  private collapse(yes: boolean): void {
    this.el.classList.toggle("collapsed", yes);
    this.toggle.setAttribute("aria-expanded", String(!yes));
    this.toggle.setAttribute("aria-label", yes ? "Expand uploads" : "Collapse uploads");
    this.toggle.title = yes ? "Expand uploads" : "Collapse uploads";
  }

  /** Called with the id of every object an upload created or replaced. */
  onUploaded(fn: (id: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  add(files: Iterable<File>, prefix: string): void {
    for (const file of files) {
      const id = prefix + idForFileName(file.name);
      const bar = progressBar(`Upload of ${file.name}`);
      const status = h("span", { class: "upload-status" });
      const actions = h("span", { class: "upload-actions" });
      const renamed =
        id !== prefix + file.name ? h("span", { class: "muted small" }, ` saved as ${id}`) : null;
      const row = h(
        "li",
        { class: "upload", "data-name": file.name },
        h(
          "div",
          { class: "upload-head" },
          icon("file"),
          h("span", { class: "upload-name" }, file.name),
          renamed,
          h("span", { class: "muted small" }, bytes(file.size)),
        ),
        bar.el,
        h("div", { class: "upload-foot" }, status, actions),
      );
      const entry: Entry = {
        file,
        id,
        replace: false,
        state: "queued",
        handle: null,
        row,
        bar,
        status,
        actions,
      };
      this.entries.push(entry);
      this.list.appendChild(row);
      if (file.size > this.maxObjectBytes) {
        this.fail(
          entry,
          "failed",
          `Too large: ${bytes(file.size)}; this server accepts objects up to ${bytes(this.maxObjectBytes)}.`,
        );
        continue;
      }
      this.render(entry);
    }
    this.el.hidden = false;
    this.collapse(false);
    this.pump();
  }

  private pump(): void {
    const running = this.entries.filter((e) => e.state === "uploading").length;
    const next = this.entries
      .filter((e) => e.state === "queued")
      .slice(0, Math.max(0, CONCURRENCY - running));
    for (const e of next) this.start(e);
    this.updateSummary();
  }

  private start(e: Entry): void {
    e.state = "uploading";
    e.bar.state("");
    e.bar.set(0, e.file.size);
    this.render(e);
    e.handle = putFile(e.id, e.file, {
      replace: e.replace,
      onProgress: (loaded, total) => {
        e.bar.set(loaded, total);
        e.status.textContent = `${bytes(loaded)} of ${bytes(total)}`;
      },
    });
    e.handle.done.then(
      () => {
        e.state = "done";
        e.bar.set(1, 1);
        e.bar.state("done");
        this.render(e);
        for (const fn of this.listeners) fn(e.id);
        this.pump();
      },
      (err: unknown) => {
        if (err instanceof UploadAborted) this.fail(e, "cancelled", "Cancelled.");
        else if (err instanceof ApiError && err.code === "precondition_failed")
          this.fail(e, "conflict", `An object named ${e.id} already exists.`);
        else if (err instanceof ApiError && err.code === "payload_too_large")
          this.fail(
            e,
            "failed",
            `Too large: this server accepts objects up to ${bytes(this.maxObjectBytes)}.`,
          );
        else if (err instanceof ApiError && err.code === "network")
          this.fail(
            e,
            "failed",
            "The connection was lost during the upload. Nothing was stored; retry when you are back online.",
          );
        else this.fail(e, "failed", err instanceof Error ? err.message : String(err));
        this.pump();
      },
    );
  }

  private fail(e: Entry, state: State, message: string): void {
    e.state = state;
    e.bar.state("failed");
    e.status.textContent = message;
    this.render(e);
  }

  private render(e: Entry): void {
    e.row.className = `upload ${e.state}`;
    const a: HTMLElement[] = [];
    if (e.state === "queued") e.status.textContent = "Waiting…";
    if (e.state === "done") {
      e.status.replaceChildren(badge("Uploaded", "success"));
    }
    if (e.state === "uploading" || e.state === "queued") {
      const b = button("Cancel", { variant: "ghost small" });
      b.addEventListener("click", () => {
        if (e.handle) e.handle.abort();
        else this.fail(e, "cancelled", "Cancelled.");
        this.pump();
      });
      a.push(b);
    }
    if (e.state === "conflict") {
      const b = button("Replace it", { variant: "danger small" });
      b.addEventListener("click", () => this.retry(e, true));
      a.push(b);
    }
    if (e.state === "failed" && e.file.size <= this.maxObjectBytes) {
      const b = button("Retry", { variant: "secondary small" });
      b.addEventListener("click", () => this.retry(e, e.replace));
      a.push(b);
    }
    clear(e.actions, a);
    this.updateSummary();
  }

  private retry(e: Entry, replace: boolean): void {
    e.replace = replace;
    e.state = "queued";
    e.handle = null;
    e.bar.state("");
    e.bar.set(0, 1);
    this.render(e);
    this.pump();
  }

  private clearFinished(): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.state === "done" || e.state === "cancelled") {
        e.row.remove();
        this.entries.splice(i, 1);
      }
    }
    this.updateSummary();
  }

  private updateSummary(): void {
    const total = this.entries.length;
    const done = this.entries.filter((e) => e.state === "done").length;
    const active = this.entries.filter((e) => e.state === "uploading" || e.state === "queued").length;
    // A batch that ended without a problem folds away by itself; problems stay in view.
    const troubled = this.entries.some((e) => e.state === "failed" || e.state === "conflict");
    if (this.wasActive && active === 0 && !troubled) this.collapse(true);
    this.wasActive = active > 0;
    this.summary.textContent =
      active > 0
        ? `Uploading ${active} file${active === 1 ? "" : "s"} · ${done} of ${total} done`
        : `${done} of ${total} uploaded`;
  }
}
