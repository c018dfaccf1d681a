// What API tokens and S3 access keys share in the console: a card with their list (label, scopes,
// dates, who issued each, a revoke button with its confirmation), the form that creates one, and
// the dialog that shows a new secret once.
import type { CreateTokenRequest, TokenInfo } from "../../src/api/tokens.js";
import { type Child, h } from "./dom.js";
import { date, relative } from "./format.js";
import type { IconName } from "./icons.js";
import { onSubmit, resourceList } from "./resource-list.js";
import { badge, button, card, dialog, emptyState, notice, toast } from "./ui.js";

const EXPIRY: [string, number | undefined][] = [
  ["Never", undefined],
  ["1 day", 86400],
  ["30 days", 30 * 86400],
  ["90 days", 90 * 86400],
  ["1 year", 365 * 86400],
];

/** What a listing shows of a token or an access key besides its id (src/api/fields.ts credentialInfo). */
export type Listed = Pick<TokenInfo, "label" | "scopes" | "created" | "lastUsed" | "expiresAt" | "issuedBy">;
/** What a new token or access key comes with besides its secret. */
type Issued = Pick<TokenInfo, "scopes" | "expiresAt">;

/** The dialog that shows a new secret, the only time it is shown; resolves once it is closed. */
export async function showSecretOnce(title: string, warning: string, ...body: Child[]): Promise<void> {
  await dialog({
    title,
    body: [notice("warning", warning), ...body],
    confirm: "I have copied it",
    cancel: "",
  });
}

/** One kind of credential: the words that name it and the calls that manage it. */
export interface CredentialKind<T extends Listed, N extends Issued> {
  /** "token", "access key": in the form's, the list's and the dialogs' words. */
  noun: string;
  /** The card's heading, and what it says above the list. */
  title: string;
  intro?: Child;
  empty: { icon: IconName; title: string; text: string };
  /** The label field's example, and the accessible names of the scope checkboxes and their group. */
  placeholder: string;
  scopeLabels: { group: string; read: string; write: string };
  list(): Promise<T[]>;
  create(body: CreateTokenRequest): Promise<N>;
  revoke(item: T): Promise<unknown>;
  /** The public id a row shows under the label. */
  id(item: T): string;
  /** The row's data attribute naming it (`data-token`). */
  rowAttr: string;
  /** The issued-by cell: its data attribute and its text. */
  issuedBy: { attr: string; text(by: string | null): Child };
  /** The revoke button's accessible name, where the visible "Revoke" is not enough. */
  revokeLabel?(item: T): string;
  /** What the revoke dialog says happens, after "<Noun> <label>". */
  revokeEffect: string;
  /** The credential the page is signed in with: marked, warned about, and `onSignOut` once revoked. */
  mine?(item: T): boolean;
  onSignOut?(): void;
  /** The new secret's dialog: its warning, and the fields above the scopes line. */
  secretWarning: string;
  secretFields(created: N): Child[];
}

/** The card of one kind of credential of one user: the list, and the form that creates one. */
export function credentialsCard<T extends Listed, N extends Issued>(kind: CredentialKind<T, N>): HTMLElement {
  const Noun = kind.noun.charAt(0).toUpperCase() + kind.noun.slice(1);
  const list = resourceList({
    fetch: kind.list,
    columns: [
      Noun,
      "Scopes",
      ["Created", "hide-sm"],
      ["Last used", "hide-sm"],
      ["Expires", "hide-sm"],
      ["Issued by", "hide-sm"],
    ],
    empty: () => emptyState(kind.empty.icon, kind.empty.title, kind.empty.text),
    row: (item, reload) => {
      const mine = kind.mine?.(item) ?? false;
      const revoke = button("Revoke", {
        variant: "danger-outline small",
        "aria-label": kind.revokeLabel?.(item),
      });
      revoke.addEventListener("click", async () => {
        const ok = await dialog({
          title: `Revoke ${kind.noun}?`,
          body: [
            h(
              "p",
              null,
              `${Noun} `,
              h("strong", { class: "mono" }, item.label || kind.id(item)),
              kind.revokeEffect,
            ),
            mine
              ? notice("warning", "This is the token you are signed in with: you will be signed out.")
              : null,
          ],
          confirm: "Revoke",
          danger: true,
          action: () => kind.revoke(item),
        });
        if (!ok) return;
        if (mine) kind.onSignOut?.();
        else {
          toast(`${Noun} revoked`, "success");
          reload();
        }
      });
      return h(
        "tr",
        { [kind.rowAttr]: kind.id(item) },
        h(
          "td",
          null,
          h(
            "div",
            null,
            item.label || h("span", { class: "muted" }, "(no label)"),
            mine ? badge("this session", "info") : null,
          ),
          h("div", { class: "mono muted small" }, kind.id(item)),
        ),
        h(
          "td",
          null,
          item.scopes.map((s) => badge(s, "neutral")),
        ),
        h("td", { class: "hide-sm" }, date(item.created)),
        h("td", { class: "hide-sm" }, relative(item.lastUsed)),
        h("td", { class: "hide-sm" }, expires(item)),
        h(
          "td",
          { class: "hide-sm", [kind.issuedBy.attr]: item.issuedBy ?? "" },
          kind.issuedBy.text(item.issuedBy),
        ),
        h("td", { class: "row-actions" }, revoke),
      );
    },
  });

  const label = h("input", {
    class: "input",
    type: "text",
    placeholder: kind.placeholder,
    maxlength: 100,
    autocomplete: "off",
    "aria-label": `${Noun} label`,
  });
  const read = h("input", { type: "checkbox", checked: true, "aria-label": kind.scopeLabels.read });
  const write = h("input", { type: "checkbox", checked: true, "aria-label": kind.scopeLabels.write });
  const expiry = h(
    "select",
    { class: "select", "aria-label": `${Noun} expiry` },
    EXPIRY.map(([l, s]) => h("option", { value: s ?? "" }, l)),
  );
  const create = button(`Create ${kind.noun}`, { icon: "plus", variant: "primary", type: "submit" });
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
        { class: "checks", role: "group", "aria-label": kind.scopeLabels.group },
        h("label", { class: "check" }, read, "read"),
        h("label", { class: "check" }, write, "write"),
      ),
    ),
    h("label", { class: "field" }, h("span", null, "Expires"), expiry),
    h("div", { class: "field end" }, create),
  );
  const scopes = () => (["read", "write"] as const).filter((s) => (s === "read" ? read : write).checked);
  const formErr = onSubmit(
    form,
    create,
    async () => {
      const made = await kind.create({
        label: label.value.trim() || undefined,
        scopes: scopes(),
        expiresInSeconds: expiry.value ? Number(expiry.value) : undefined,
      });
      label.value = "";
      await showSecretOnce(
        `${Noun} created`,
        kind.secretWarning,
        ...kind.secretFields(made),
        h("p", { class: "muted small" }, `Scopes: ${made.scopes.join(", ")} · expires ${expires(made)}`),
      );
      list.reload();
    },
    () => (scopes().length === 0 ? "Choose at least one scope." : undefined),
  );

  return card(
    kind.title,
    kind.intro,
    list.el,
    h("h3", { class: "section-title" }, `New ${kind.noun}`),
    form,
    formErr,
  );
}

function expires(c: Issued): string {
  return c.expiresAt ? date(c.expiresAt) : "never";
}
