// API tokens of one user: list, create (the secret shown once, with a copy button), revoke.
import { api } from "../api.js";
import type { PageContext } from "../context.js";
import { credentialsCard } from "../credentials.js";
import { h } from "../dom.js";
import { badge, copyField, pageHeader } from "../ui.js";
import { accessKeysPanel } from "./access-keys.js";

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
  return credentialsCard({
    noun: "token",
    title: `Tokens of ${name}`,
    empty: { icon: "ticket", title: "No tokens", text: "Create one below." },
    placeholder: "e.g. laptop CLI",
    scopeLabels: { group: "Scopes", read: "read scope", write: "write scope" },
    list: () => api.tokens(name),
    create: (body) => api.createToken(name, body),
    revoke: (t) => api.revokeToken(name, t.id),
    id: (t) => t.id,
    rowAttr: "data-token",
    issuedBy: { attr: "data-issued-by", text: issuedByText },
    revokeLabel: (t) => `Revoke token ${t.label || t.id}`,
    revokeEffect: " stops working at once, everywhere, and so do the download links it made.",
    mine: (t) => t.id === ctx.me.token.id,
    onSignOut,
    secretWarning: "Copy this token now: it is shown only once and cannot be recovered.",
    secretFields: (t) => [copyField(t.token, "new token")],
  });
}

/** Who issued a token, as a person reads it: a reset stands out, as it revoked everything else. */
function issuedByText(by: string | null | undefined): HTMLElement | string {
  if (by === "reset") return badge("admin reset", "warning");
  if (by === "bootstrap") return "first start";
  return by ?? "—";
}
