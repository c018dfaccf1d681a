// What the pages that list things share: the table (every page's), a list that shows a spinner,
// then the rows, the empty state or the error (users, tokens, access keys), and a create form
// whose failure shows under it.
import { type Child, clear, h } from "./dom.js";
import { errorText, notice, spinner } from "./ui.js";

/** A column's heading: its text, or its text and the class of its header cell. */
export type Column = string | [title: string, cls: string];

/** A table under `columns`; with `actions`, a last column of row buttons, named for screen readers only. */
export function table(
  columns: Column[],
  rows: Child,
  opts: { actions?: boolean; class?: string } = {},
): HTMLTableElement {
  return h(
    "table",
    { class: opts.class ?? "table" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => (typeof c === "string" ? h("th", null, c) : h("th", { class: c[1] }, c[0]))),
        opts.actions ? h("th", { class: "row-actions" }, h("span", { class: "offscreen" }, "Actions")) : null,
      ),
    ),
    h("tbody", null, rows),
  );
}

export interface ResourceList {
  /** Where the list shows: a spinner until the first answer. */
  el: HTMLElement;
  /** Asks the server again and shows its answer (the old rows stay until it comes). */
  reload(): Promise<void>;
}

/** A list the server gives, loaded at once: a table with row actions, else `empty()`, else the error. */
export function resourceList<T>(opts: {
  fetch: () => Promise<T[]>;
  columns: Column[];
  row: (item: T, reload: () => Promise<void>) => HTMLTableRowElement;
  empty: () => HTMLElement;
}): ResourceList {
  const el = h("div", null, spinner());
  async function reload(): Promise<void> {
    try {
      const items = await opts.fetch();
      if (items.length === 0) clear(el, opts.empty());
      else
        clear(
          el,
          table(
            opts.columns,
            items.map((item) => opts.row(item, reload)),
            { actions: true },
          ),
        );
    } catch (e) {
      clear(el, notice("error", errorText(e)));
    }
  }
  reload();
  return { el, reload };
}

/**
 * Runs `submit` when the form is sent, with `button` disabled meanwhile. Returns the element where
 * its failure shows, or what `check` finds wrong before anything is sent.
 */
export function onSubmit(
  form: HTMLFormElement,
  button: HTMLButtonElement,
  submit: () => Promise<void>,
  check: () => string | undefined = () => undefined,
): HTMLElement {
  const errors = h("div");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(errors);
    const wrong = check();
    if (wrong) {
      clear(errors, notice("error", wrong));
      return;
    }
    button.disabled = true;
    try {
      await submit();
    } catch (err) {
      clear(errors, notice("error", errorText(err)));
    } finally {
      button.disabled = false;
    }
  });
  return errors;
}
