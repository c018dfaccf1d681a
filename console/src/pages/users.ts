// Administration of users: list, create, delete (which destroys the user's data for good), and a
// page per user with its tokens and key.
import { api, type ResetToken, type User } from "../api.js";
import type { PageContext } from "../context.js";
import { showSecretOnce } from "../credentials.js";
import { h } from "../dom.js";
import { date } from "../format.js";
import { onSubmit, resourceList } from "../resource-list.js";
import { badge, button, card, copyField, dialog, emptyState, notice, pageHeader, toast } from "../ui.js";
import { accessKeysPanel } from "./access-keys.js";
import { keyPanel } from "./keys.js";
import { tokensPanel } from "./tokens.js";

export function usersPage(ctx: PageContext): HTMLElement {
  const list = resourceList({
    fetch: () => api.users(),
    columns: ["Name", "Role", ["Status", "hide-sm"], ["Created", "hide-sm"]],
    empty: () => emptyState("users", "No users", "Create one below."),
    row: (u: User, reload) => {
      const del = button("Delete", {
        icon: "trash",
        variant: "danger-outline small",
        "aria-label": `Delete user ${u.name}`,
      });
      del.disabled = u.name === ctx.me.name;
      if (del.disabled) del.title = "You cannot delete yourself";
      del.addEventListener("click", () => deleteUser(u.name, reload));
      return h(
        "tr",
        { "data-user": u.name },
        h(
          "td",
          null,
          h("a", { href: `#/users/${encodeURIComponent(u.name)}`, class: "strong" }, u.name),
          u.name === ctx.me.name ? badge("you", "info") : null,
        ),
        h("td", null, badge(u.role, u.role === "admin" ? "accent" : "neutral")),
        h(
          "td",
          { class: "hide-sm" },
          u.enrolled === false ? badge("enrolling", "warning") : badge("enrolled", "neutral"),
        ),
        h("td", { class: "hide-sm" }, date(u.created)),
        h(
          "td",
          { class: "row-actions" },
          h("a", { class: "btn secondary small", href: `#/users/${encodeURIComponent(u.name)}` }, "Manage"),
          del,
        ),
      );
    },
  });
  const name = h("input", {
    class: "input",
    type: "text",
    placeholder: "e.g. alice",
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": "User name",
    required: true,
  });
  const role = h(
    "select",
    { class: "select", "aria-label": "Role" },
    h("option", { value: "user" }, "user"),
    h("option", { value: "admin" }, "admin"),
  );
  const create = button("Create user", { icon: "plus", variant: "primary", type: "submit" });
  const form = h(
    "form",
    { class: "form-row" },
    h("label", { class: "field grow" }, h("span", null, "Name"), name),
    h("label", { class: "field" }, h("span", null, "Role"), role),
    h("div", { class: "field end" }, create),
  );
  const formErr = onSubmit(form, create, async () => {
    const u = await api.createUser({
      name: name.value.trim(),
      role: role.value === "admin" ? "admin" : "user",
    });
    toast(`Created user ${u.name}`, "success");
    name.value = "";
    list.reload();
  });

  return h(
    "div",
    { class: "page" },
    pageHeader("Users", "Each user has a private namespace of objects and its own encryption key."),
    card("All users", list.el),
    card("New user", form, formErr),
  );
}

export async function deleteUser(name: string, after: () => void): Promise<void> {
  const ok = await dialog({
    title: `Delete user ${name}?`,
    body: [
      notice(
        "error",
        h("strong", null, "This destroys data for good."),
        ` All of ${name}'s objects are deleted and ${name}'s encryption keys are destroyed: no copy of the data, backups included, can ever be decrypted again.`,
      ),
      h("p", null, `${name}'s tokens and S3 access keys stop working at once.`),
    ],
    confirm: "Delete user and data",
    danger: true,
    typeToConfirm: name,
    action: () => api.deleteUser(name),
  });
  if (ok) {
    toast(`Deleted user ${name}`, "success");
    after();
  }
}

/**
 * Break-glass: every credential of the user is revoked and one new enrollment token is shown here
 * once. Never silent: the user's tools stop working and the server logs it.
 */
export async function resetUser(name: string, after: () => void): Promise<void> {
  let issued: ResetToken | null = null;
  const ok = await dialog({
    title: `Reset ${name}?`,
    body: [
      notice(
        "warning",
        h("strong", null, "Every token and access key of this user stops working at once."),
        ` You get one new token for ${name} to enroll with again; ${name} will see it listed as issued by an admin reset.`,
      ),
      h("p", null, "Use this to regain access to an account, or when its credentials may have leaked."),
    ],
    confirm: "Reset user",
    danger: true,
    typeToConfirm: name,
    action: async () => {
      issued = await api.resetUser(name);
    },
  });
  const t = issued as ResetToken | null;
  if (!ok || !t) return;
  await showSecretOnce(
    `New token for ${name}`,
    "Copy this token now and hand it to the user: it is shown only once.",
    copyField(t.token, "new token"),
    h("p", { class: "muted small" }, `${t.revoked ?? 0} credential(s) revoked.`),
  );
  after();
}

export function userPage(ctx: PageContext, name: string): HTMLElement {
  const reset = button("Reset", { icon: "key", variant: "secondary" });
  reset.disabled = name === ctx.me.name;
  if (reset.disabled) reset.title = "You cannot reset yourself";
  reset.setAttribute("aria-label", `Reset user ${name}`);
  reset.addEventListener("click", () => resetUser(name, () => location.reload()));
  const del = button("Delete user", { icon: "trash", variant: "danger-outline" });
  del.disabled = name === ctx.me.name;
  del.addEventListener("click", () =>
    deleteUser(name, () => {
      location.hash = "#/users";
    }),
  );
  const back = h("a", { href: "#/users", class: "back" }, "← All users");
  return h(
    "div",
    { class: "page" },
    back,
    pageHeader(
      name,
      "Tokens, S3 access keys and encryption key of this user. Administrators cannot read users' objects, and issue a user's tokens only until it first signs in; after that, only a reset (which revokes every credential) gives access again.",
      reset,
      del,
    ),
    tokensPanel(ctx, name, () => location.reload()),
    accessKeysPanel(ctx, name),
    keyPanel(ctx, name === ctx.me.name ? undefined : name),
  );
}
