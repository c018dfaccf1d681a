// API tokens of one user: list, create (the secret shown once, with a copy button), revoke.
import { api, type TokenInfo } from "../api.js";
import type { PageContext } from "../context.js";
import { clear, h } from "../dom.js";
import { date, relative } from "../format.js";
import {
  badge,
  button,
  card,
  copyField,
  dialog,
  emptyState,
  errorText,
  notice,
  pageHeader,
  spinner,
  toast,
} from "../ui.js";
import { accessKeysPanel } from "./access-keys.js";

const EXPIRY: [string, number | undefined][] = [
  ["Never", undefined],
  ["1 day", 86400],
  ["30 days", 30 * 86400],
  ["90 days", 90 * 86400],
  ["1 year", 365 * 86400],
];

export function tokensPage(ctx: PageContext): HTMLElement {
  return h(
    "div",
    { class: "page" },
    pageHeader(
      "API tokens",
      "Tokens sign in to this console, the CLI and the API. Revoked tokens stop working at once.",
    ),
    tokensPanel(ctx, ctx.me.name, () => undefined),
    accessKeysPanel(ctx, ctx.me.name),
  );
}

/** The token list and creation form of user `name`; `onSignOut` runs when the caller revokes its own token. */
export function tokensPanel(ctx: PageContext, name: string, onSignOut: () => void): HTMLElement {
  const listHost = h("div", null, spinner());
  const label = h("input", {
    class: "input",
    type: "text",
    placeholder: "e.g. laptop CLI",
    maxlength: 100,
    autocomplete: "off",
    "aria-label": "Token label",
  });
  const read = h("input", { type: "checkbox", checked: true, "aria-label": "read scope" });
  const write = h("input", { type: "checkbox", checked: true, "aria-label": "write scope" });
  const expiry = h(
    "select",
    { class: "select", "aria-label": "Token expiry" },
    EXPIRY.map(([l, s]) => h("option", { value: s ?? "" }, l)),
  );
  const formErr = h("div");
  const create = button("Create token", { icon: "plus", variant: "primary", type: "submit" });
  const form = h(
    "form",
    { class: "form-row" },
    h("label", { class: "field grow" }, h("span", null, "Label"), label),
    h(
      "div",
      { class: "field" },
      h("span", null, "Scopes"),
      h(
        "div",
        { class: "checks", role: "group", "aria-label": "Scopes" },
        h("label", { class: "check" }, read, "read"),
        h("label", { class: "check" }, write, "write"),
      ),
    ),
    h("label", { class: "field" }, h("span", null, "Expires"), expiry),
    h("div", { class: "field end" }, create),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(formErr);
    const scopes = (["read", "write"] as const).filter((s) => (s === "read" ? read : write).checked);
    if (scopes.length === 0) {
      clear(formErr, notice("error", "Choose at least one scope."));
      return;
    }
    create.disabled = true;
    try {
      const t = await api.createToken(name, {
        label: label.value.trim() || undefined,
        scopes,
        expiresInSeconds: expiry.value ? Number(expiry.value) : undefined,
      });
      label.value = "";
      await dialog({
        title: "Token created",
        body: [
          notice("warning", "Copy this token now: it is shown only once and cannot be recovered."),
          copyField(t.token, "new token"),
          h(
            "p",
            { class: "muted small" },
            `Scopes: ${t.scopes.join(", ")} · expires ${t.expiresAt ? date(t.expiresAt) : "never"}`,
          ),
        ],
        confirm: "I have copied it",
        cancel: "",
      });
      load();
    } catch (err) {
      clear(formErr, notice("error", errorText(err)));
    } finally {
      create.disabled = false;
    }
  });

  async function load(): Promise<void> {
    try {
      render(await api.tokens(name));
    } catch (e) {
      clear(listHost, notice("error", errorText(e)));
    }
  }

  function render(tokens: TokenInfo[]): void {
    if (tokens.length === 0) {
      clear(listHost, emptyState("ticket", "No tokens", "Create one below."));
      return;
    }
    const rows = tokens.map((t) => {
      const mine = t.id === ctx.me.token.id;
      const revoke = button("Revoke", { variant: "danger-outline small" });
      revoke.addEventListener("click", async () => {
        const ok = await dialog({
          title: "Revoke token?",
          body: [
            h(
              "p",
              null,
              "Token ",
              h("strong", { class: "mono" }, t.label || t.id),
              " stops working at once, everywhere, and so do the download links it made.",
            ),
            mine
              ? notice("warning", "This is the token you are signed in with: you will be signed out.")
              : null,
          ],
          confirm: "Revoke",
          danger: true,
          action: () => api.revokeToken(name, t.id),
        });
        if (!ok) return;
        if (mine) onSignOut();
        else {
          toast("Token revoked", "success");
          load();
        }
      });
      return h(
        "tr",
        { "data-token": t.id },
        h(
          "td",
          null,
          h(
            "div",
            null,
            t.label || h("span", { class: "muted" }, "(no label)"),
            mine ? badge("this session", "info") : null,
          ),
          h("div", { class: "mono muted small" }, t.id),
        ),
        h(
          "td",
          null,
          t.scopes.map((s) => badge(s, "neutral")),
        ),
        h("td", { class: "hide-sm" }, date(t.created)),
        h("td", { class: "hide-sm" }, relative(t.lastUsed)),
        h("td", { class: "hide-sm" }, t.expiresAt ? date(t.expiresAt) : "never"),
        h("td", { class: "hide-sm", "data-issued-by": t.issuedBy ?? "" }, issuedByText(t.issuedBy)),
        h("td", { class: "row-actions" }, revoke),
      );
    });
    clear(
      listHost,
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, "Token"),
            h("th", null, "Scopes"),
            h("th", { class: "hide-sm" }, "Created"),
            h("th", { class: "hide-sm" }, "Last used"),
            h("th", { class: "hide-sm" }, "Expires"),
            h("th", { class: "hide-sm" }, "Issued by"),
            h("th", { class: "row-actions" }, h("span", { class: "offscreen" }, "Actions")),
          ),
        ),
        h("tbody", null, rows),
      ),
    );
  }

  load();
  return card(`Tokens of ${name}`, listHost, h("h3", { class: "section-title" }, "New token"), form, formErr);
}

/** Who issued a token, as a person reads it: a reset stands out, as it revoked everything else. */
function issuedByText(by: string | null | undefined): HTMLElement | string {
  if (by === "reset") return badge("admin reset", "warning");
  if (by === "bootstrap") return "first start";
  return by ?? "—";
}
