// Shared pieces of the interface: buttons, notices, toasts, dialogs, progress bars, copy fields.
import { type Attrs, type Child, clear, h, setWidth } from "./dom.js";
import { type IconName, icon } from "./icons.js";

export function button(
  label: string,
  attrs: Attrs & { icon?: IconName; variant?: string } = {},
): HTMLButtonElement {
  const { icon: name, variant, ...rest } = attrs;
  const b = h(
    "button",
    { type: "button", class: `btn ${variant ?? "secondary"}`, ...rest },
    name ? icon(name) : null,
    label ? h("span", null, label) : null,
  );
  return b;
}

export function iconButton(name: IconName, label: string, attrs: Attrs = {}): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: "btn icon-only ghost", "aria-label": label, title: label, ...attrs },
    icon(name),
  );
}

export function notice(kind: "error" | "info" | "success" | "warning", ...children: Child[]): HTMLElement {
  const name: IconName =
    kind === "error" ? "alert" : kind === "success" ? "check" : kind === "warning" ? "alert" : "info";
  return h(
    "div",
    { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(name),
    h("div", null, ...children),
  );
}

export function pageHeader(title: string, subtitle: Child, ...actions: Child[]): HTMLElement {
  return h(
    "header",
    { class: "page-header" },
    h(
      "div",
      { class: "titles" },
      h("h1", null, title),
      subtitle ? h("p", { class: "subtitle" }, subtitle) : null,
    ),
    actions.length ? h("div", { class: "actions" }, ...actions) : null,
  );
}

export function card(title: Child, ...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, title ? h("h2", { class: "card-title" }, title) : null, ...children);
}

export function emptyState(name: IconName, title: string, text: Child): HTMLElement {
  return h(
    "div",
    { class: "empty" },
    icon(name, "icon big"),
    h("p", { class: "empty-title" }, title),
    h("p", { class: "muted" }, text),
  );
}

export function spinner(label = "Loading…"): HTMLElement {
  return h("div", { class: "loading", role: "status" }, h("span", { class: "spinner" }), label);
}

export function badge(text: string, kind = ""): HTMLElement {
  return h("span", { class: `badge ${kind}` }, text);
}

export interface ProgressBar {
  el: HTMLElement;
  set(done: number, total: number): void;
  state(kind: "" | "done" | "failed"): void;
}

/** An accessible progress bar (role=progressbar with aria-valuenow) and its percentage. */
export function progressBar(label: string): ProgressBar {
  const fill = h("div", { class: "fill" });
  const pct = h("span", { class: "pct" }, "0%");
  const track = h(
    "div",
    {
      class: "track",
      role: "progressbar",
      "aria-label": label,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": 0,
    },
    fill,
  );
  const el = h("div", { class: "progress" }, track, pct);
  return {
    el,
    set(done, total) {
      const f = total > 0 ? done / total : done > 0 ? 1 : 0;
      const p = Math.floor(f * 100);
      setWidth(fill, f);
      track.setAttribute("aria-valuenow", String(p));
      pct.textContent = `${p}%`;
    },
    state(kind) {
      el.className = `progress ${kind}`;
    },
  };
}

// --- toasts -----------------------------------------------------------------------------------------
let toastHost: HTMLElement | null = null;

export function toast(text: string, kind: "success" | "error" | "info" = "info"): void {
  if (!toastHost) {
    toastHost = h("div", { class: "toasts", "aria-live": "polite" });
    document.body.appendChild(toastHost);
  }
  const t = h(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(kind === "error" ? "alert" : kind === "success" ? "check" : "info"),
    h("span", null, text),
  );
  toastHost.appendChild(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

// --- dialogs ----------------------------------------------------------------------------------------
export interface DialogOptions {
  title: string;
  body: Child;
  confirm?: string;
  cancel?: string;
  danger?: boolean;
  /** The user must type this before the confirm button is enabled. */
  typeToConfirm?: string;
  /** Runs on confirm; a thrown error is shown in the dialog, which stays open. */
  action?: () => Promise<unknown> | unknown;
}

/** A modal dialog; resolves true when confirmed (and `action` succeeded), false when dismissed. */
export function dialog(opts: DialogOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const err = h("div", { class: "dialog-error" });
    const ok = button(opts.confirm ?? "OK", { variant: opts.danger ? "danger" : "primary" });
    const cancel = opts.cancel === "" ? null : button(opts.cancel ?? "Cancel");
    let typed: HTMLInputElement | null = null;
    if (opts.typeToConfirm !== undefined) {
      const expected = opts.typeToConfirm;
      typed = h("input", {
        class: "input",
        type: "text",
        autocomplete: "off",
        spellcheck: "false",
        "aria-label": `Type ${expected} to confirm`,
      });
      ok.disabled = true;
      typed.addEventListener("input", () => {
        ok.disabled = typed?.value !== expected;
      });
    }
    const dlg = h(
      "dialog",
      { class: `dialog ${opts.danger ? "danger" : ""}`, "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, opts.danger ? icon("alert") : null, opts.title),
      h("div", { class: "dialog-body" }, opts.body),
      typed
        ? h(
            "label",
            { class: "field" },
            h("span", null, "Type ", h("strong", null, opts.typeToConfirm ?? ""), " to confirm"),
            typed,
          )
        : null,
      err,
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    let settled = false;
    const finish = (v: boolean) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel?.addEventListener("click", () => finish(false));
    dlg.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    });
    ok.addEventListener("click", async () => {
      if (!opts.action) return finish(true);
      ok.disabled = true;
      clear(err);
      try {
        await opts.action();
        finish(true);
      } catch (e) {
        clear(err, notice("error", e instanceof Error ? e.message : String(e)));
        ok.disabled = false;
      }
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    (typed ?? ok).focus();
  });
}

// --- copying ----------------------------------------------------------------------------------------
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Not a secure context (plain http on a LAN address): fall back to a selected text area.
    const ta = h("textarea", { class: "offscreen", readonly: true });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

/** A read-only field with a copy button, e.g. a new token or a link. */
export function copyField(value: string, label: string): HTMLElement {
  const input = h("input", {
    class: "input mono",
    type: "text",
    readonly: true,
    "aria-label": label,
    spellcheck: "false",
  });
  input.value = value;
  input.addEventListener("focus", () => input.select());
  const b = button("Copy", { icon: "copy", "aria-label": `Copy ${label}` });
  b.addEventListener("click", async () => {
    const ok = await copyText(value);
    const span = b.querySelector("span");
    if (span) span.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => {
      if (span) span.textContent = "Copy";
    }, 2000);
  });
  return h("div", { class: "copy-field" }, input, b);
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
