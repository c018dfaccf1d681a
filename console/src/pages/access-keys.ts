// S3 access keys of one user: list, create (the id and secret shown once, with copy buttons and the
// S3 endpoint), revoke. On the caller's API tokens page and on an admin's page of a user.
import { accessKeysApi } from "../access-keys-api.js";
import type { PageContext } from "../context.js";
import { credentialsCard } from "../credentials.js";
import { h } from "../dom.js";
import { copyField, notice } from "../ui.js";

/** Where S3 tools should point: this server's host on the S3 port (SSE_S3_PORT, from the settings). */
export function s3Endpoint(port: number): string {
  return `http://${location.hostname}:${port}`;
}

export function accessKeysPanel(ctx: PageContext, name: string): HTMLElement {
  const port = ctx.settings.s3Port;
  return credentialsCard({
    noun: "access key",
    title: `S3 access keys of ${name}`,
    intro:
      port > 0
        ? h(
            "p",
            { class: "muted small" },
            "For the S3 API at ",
            h("code", null, s3Endpoint(port)),
            ": the same objects as here, signed with an access key ID and its secret. The secret is shown once, when the key is created.",
          )
        : notice("info", "The S3 API is off on this server (SSE_S3_PORT=0); access keys work once it is on."),
    empty: {
      icon: "key",
      title: "No access keys",
      text: "Create one below for aws, rclone, restic or any S3 client.",
    },
    placeholder: "e.g. restic backups",
    scopeLabels: {
      group: "Access key scopes",
      read: "access key read scope",
      write: "access key write scope",
    },
    list: () => accessKeysApi.list(name),
    create: (body) => accessKeysApi.create(name, body),
    revoke: (k) => accessKeysApi.revoke(name, k.accessKeyId),
    id: (k) => k.accessKeyId,
    rowAttr: "data-access-key",
    issuedBy: { attr: "data-key-issued-by", text: (by) => by ?? "—" },
    revokeLabel: (k) => `Revoke access key ${k.accessKeyId}`,
    revokeEffect:
      " stops working at once, everywhere: S3 tools using it are refused from their next request.",
    secretWarning: "Copy the secret now: it is shown only once and cannot be recovered.",
    secretFields: (k) => [
      h("p", { class: "muted small" }, "Access key ID"),
      copyField(k.accessKeyId, "access key id"),
      h("p", { class: "muted small" }, "Secret access key"),
      copyField(k.secretAccessKey, "secret access key"),
      ...(port > 0
        ? [
            h("p", { class: "muted small" }, "S3 endpoint (path-style, any region)"),
            copyField(s3Endpoint(port), "S3 endpoint"),
          ]
        : [notice("info", "The S3 API is off on this server (SSE_S3_PORT=0).")]),
    ],
  });
}
