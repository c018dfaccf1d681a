// The uploads panel: a queue of files, a few at a time, each with its own progress bar and a clear
// outcome (done, too large, already exists → replace or skip, network → retry, cancelled). It
// lives outside the pages, so uploads go on while the user browses elsewhere, and it never covers
// the page: on a wide screen it sits in the sidebar under the navigation; on a narrow one it is a
// sheet at the bottom, the page padded so that nothing stays hidden under it. Off the Objects
// pages it shows only while uploads run.
import { ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { bytes } from "./format.js";
import { icon } from "./icons.js";
import { badge, button, iconButton, type ProgressBar, progressBar } from "./ui.js";
import { idForFileName, putFile, UploadAborted, type UploadHandle } from "./upload.js";

const CONCURRENCY = 2;
/** Where the sidebar is an off-canvas drawer (styles.css): the panel floats at the bottom instead. */
const NARROW = "(max-width: 820px)";

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
  /** Why a failed, conflicting or cancelled upload stored nothing. */
  message: string;
  actions: HTMLElement;
}

const active = (e: Entry) => e.state === "uploading" || e.state === "queued";

export class UploadPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly entries: Entry[] = [];
  private readonly listeners = new Set<(id: string) => void>();
  private readonly toggle: HTMLButtonElement;
  private readonly narrow = window.matchMedia(NARROW);
  private wasActive = false;
  private onObjectsPage = true;
  private dock: HTMLElement | null = null;

  constructor(private readonly maxObjectBytes: number) {
    this.list = h("ul", { class: "upload-list" });
    this.summary = h("span", { class: "upload-summary" });
    this.toggle = iconButton("chevronDown", "Collapse uploads", { "aria-expanded": "true" });
    this.toggle.addEventListener("click", () => this.collapse(!this.el.classList.contains("collapsed")));
    const close = iconButton("close", "Hide uploads");
    close.addEventListener("click", () => this.dismiss());
    this.el = h(
      "section",
      { class: "upload-panel", "aria-label": "Uploads", hidden: true },
      h("header", null, icon("upload"), this.summary, h("span", { class: "spacer" }), this.toggle, close),
      this.list,
    );
    this.narrow.addEventListener("change", () => {
      if (this.el.isConnected) this.place();
    });
    // The floating sheet's height, so that the page can scroll its last rows above it.
    new ResizeObserver(() => this.reserveSpace()).observe(this.el);
  }

  /** Puts the panel in `dock` (a slot of the sidebar) on a wide screen, at the bottom on a narrow one. */
  mount(dock: HTMLElement): void {
    this.dock = dock;
    this.place();
  }

  /** The router says which page shows: off the Objects pages, the panel shows only while uploads run. */
  setPage(objects: boolean): void {
    this.onObjectsPage = objects;
    this.updateVisibility();
  }

  /** Signed out: the panel leaves the page (uploads under way finish), back with the next sign-in. */
  detach(): void {
    this.dock = null;
    this.el.remove();
    document.body.classList.remove("uploads-floating");
    document.body.style.removeProperty("--uploads-height");
  }

  private place(): void {
    const floating = this.narrow.matches || !this.dock;
    this.el.classList.toggle("floating", floating);
    if (floating) document.body.appendChild(this.el);
    else this.dock?.appendChild(this.el);
    this.reserveSpace();
  }

  private reserveSpace(): void {
    const floating = this.el.classList.contains("floating") && !this.el.hidden && this.el.isConnected;
    document.body.classList.toggle("uploads-floating", floating);
    const height = floating ? this.el.getBoundingClientRect().height : 0;
    document.body.style.setProperty("--uploads-height", `${Math.ceil(height)}px`);
  }

  /** Folds the list away (header only), so a finished batch takes little room. */
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
          h("span", { class: "upload-name", title: id }, file.name),
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
        message: "",
        actions,
      };
      this.entries.push(entry);
      // The newest batch on top, where the panel opens.
      this.list.prepend(row);
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
        if (e.state !== "uploading") return;
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
          this.fail(e, "conflict", `${e.id} is already stored; it was left as it is.`);
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

  /** An upload that stored nothing: its bar goes (a full red bar read as "sent"), its reason stays. */
  private fail(e: Entry, state: State, message: string): void {
    e.state = state;
    e.bar.state("");
    e.bar.set(0, 1);
    e.message = message;
    // A question for the user goes where it is seen first.
    if (state === "conflict" || state === "failed") {
      this.list.prepend(e.row);
      this.list.scrollTop = 0;
    }
    this.render(e);
  }

  private render(e: Entry): void {
    e.row.className = `upload ${e.state}`;
    e.bar.el.hidden = !(active(e) || e.state === "done");
    const a: HTMLElement[] = [];
    if (e.state === "queued") e.status.textContent = "Waiting…";
    if (e.state === "done") clear(e.status, badge("Uploaded", "success"));
    if (e.state === "conflict") clear(e.status, badge("Already exists", "warning"), " ", e.message);
    if (e.state === "failed") clear(e.status, badge("Not uploaded", "danger"), " ", e.message);
    if (e.state === "cancelled") e.status.textContent = e.message;
    if (active(e)) {
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
    if (e.state === "conflict" || e.state === "failed") {
      const b = button(e.state === "conflict" ? "Keep it" : "Dismiss", { variant: "ghost small" });
      b.addEventListener("click", () => this.remove(e));
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

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    e.row.remove();
    this.updateSummary();
  }

  /** The close button: everything finished goes (a conflict left alone keeps the stored object). */
  private dismiss(): void {
    for (const e of this.entries.filter((x) => !active(x))) this.remove(e);
    if (this.entries.length > 0) this.collapse(true);
    this.updateSummary();
  }

  private updateVisibility(): void {
    const running = this.entries.some(active);
    this.el.hidden = this.entries.length === 0 || (!this.onObjectsPage && !running);
    this.reserveSpace();
  }

  private updateSummary(): void {
    const total = this.entries.length;
    const count = (s: State) => this.entries.filter((e) => e.state === s).length;
    const done = count("done");
    const running = this.entries.filter(active).length;
    const [conflicts, failed] = [count("conflict"), count("failed")];
    // A batch that ended without a problem folds away by itself; problems stay in view.
    if (this.wasActive && running === 0 && conflicts + failed === 0) this.collapse(true);
    this.wasActive = running > 0;
    const parts =
      running > 0
        ? [`Uploading ${running} file${running === 1 ? "" : "s"}`, `${done} of ${total} done`]
        : [`${done} of ${total} uploaded`];
    if (conflicts) parts.push(`${conflicts} exist${conflicts === 1 ? "s" : ""}`);
    if (failed) parts.push(`${failed} failed`);
    this.summary.textContent = parts.join(" · ");
    this.updateVisibility();
  }
}
