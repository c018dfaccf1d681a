// S3 access keys of one user: list, create (the id and secret shown once, with copy buttons and the
// S3 endpoint), revoke. On the caller's API tokens page and on an admin's page of a user.
import { type AccessKeyInfo, accessKeysApi } from "../access-keys-api.js";
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
  spinner,
  toast,
} from "../ui.js";

const EXPIRY: [string, number | undefined][] = [
  ["Never", undefined],
  ["1 day", 86400],
  ["30 days", 30 * 86400],
  ["90 days", 90 * 86400],
  ["1 year", 365 * 86400],
];

/** Where S3 tools should point: this server's host on the S3 port (SSE_S3_PORT, from the settings). */
export function s3Endpoint(port: number): string {
  return `http://${location.hostname}:${port}`;
}

export function accessKeysPanel(ctx: PageContext, name: string): HTMLElement {
  const listHost = h("div", null, spinner());
  const label = h("input", {
    class: "input",
    type: "text",
    placeholder: "e.g. restic backups",
    maxlength: 100,
    autocomplete: "off",
    "aria-label": "Access key label",
  });
  const read = h("input", { type: "checkbox", checked: true, "aria-label": "access key read scope" });
  const write = h("input", { type: "checkbox", checked: true, "aria-label": "access key write scope" });
  const expiry = h(
    "select",
    { class: "select", "aria-label": "Access key expiry" },
    EXPIRY.map(([l, s]) => h("option", { value: s ?? "" }, l)),
  );
  const formErr = h("div");
  const create = button("Create access key", { icon: "plus", variant: "primary", type: "submit" });
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
        { class: "checks", role: "group", "aria-label": "Access key scopes" },
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
      const k = await accessKeysApi.create(name, {
        label: label.value.trim() || undefined,
        scopes,
        expiresInSeconds: expiry.value ? Number(expiry.value) : undefined,
      });
      label.value = "";
      await dialog({
        title: "Access key created",
        body: [
          notice("warning", "Copy the secret now: it is shown only once and cannot be recovered."),
          h("p", { class: "muted small" }, "Access key ID"),
          copyField(k.accessKeyId, "access key id"),
          h("p", { class: "muted small" }, "Secret access key"),
          copyField(k.secretAccessKey, "secret access key"),
          ...(ctx.settings.s3Port > 0
            ? [
                h("p", { class: "muted small" }, "S3 endpoint (path-style, any region)"),
                copyField(s3Endpoint(ctx.settings.s3Port), "S3 endpoint"),
              ]
            : [notice("info", "The S3 API is off on this server (SSE_S3_PORT=0).")]),
          h(
            "p",
            { class: "muted small" },
            `Scopes: ${k.scopes.join(", ")} · expires ${k.expiresAt ? date(k.expiresAt) : "never"}`,
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
      render(await accessKeysApi.list(name));
    } catch (e) {
      clear(listHost, notice("error", errorText(e)));
    }
  }

  function render(keys: AccessKeyInfo[]): void {
    if (keys.length === 0) {
      clear(
        listHost,
        emptyState("key", "No access keys", "Create one below for aws, rclone, restic or any S3 client."),
      );
      return;
    }
    const rows = keys.map((k) => {
      const revoke = button("Revoke", {
        variant: "danger-outline small",
        "aria-label": `Revoke access key ${k.accessKeyId}`,
      });
      revoke.addEventListener("click", async () => {
        const ok = await dialog({
          title: "Revoke access key?",
          body: h(
            "p",
            null,
            "Access key ",
            h("strong", { class: "mono" }, k.label || k.accessKeyId),
            " stops working at once, everywhere: S3 tools using it are refused from their next request.",
          ),
          confirm: "Revoke",
          danger: true,
          action: () => accessKeysApi.revoke(name, k.accessKeyId),
        });
        if (!ok) return;
        toast("Access key revoked", "success");
        load();
      });
      return h(
        "tr",
        { "data-access-key": k.accessKeyId },
        h(
          "td",
          null,
          h("div", null, k.label || h("span", { class: "muted" }, "(no label)")),
          h("div", { class: "mono muted small" }, k.accessKeyId),
        ),
        h(
          "td",
          null,
          k.scopes.map((s) => badge(s, "neutral")),
        ),
        h("td", { class: "hide-sm" }, date(k.created)),
        h("td", { class: "hide-sm" }, relative(k.lastUsed)),
        h("td", { class: "hide-sm" }, k.expiresAt ? date(k.expiresAt) : "never"),
        h("td", { class: "hide-sm", "data-key-issued-by": k.issuedBy ?? "" }, k.issuedBy ?? "—"),
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
            h("th", null, "Access key"),
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
  return card(
    `S3 access keys of ${name}`,
    ctx.settings.s3Port > 0
      ? h(
          "p",
          { class: "muted small" },
          "For the S3 API at ",
          h("code", null, s3Endpoint(ctx.settings.s3Port)),
          ": the same objects as here, signed with an access key ID and its secret. The secret is shown once, when the key is created.",
        )
      : notice("info", "The S3 API is off on this server (SSE_S3_PORT=0); access keys work once it is on."),
    listHost,
    h("h3", { class: "section-title" }, "New access key"),
    form,
    formErr,
  );
}
