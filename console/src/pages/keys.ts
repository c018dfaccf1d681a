// A user's key-encryption key: its versions, rotation, rewrap of every data key to the primary
// version (a job with a live progress bar), and the minimum decryption version.
import { api, type KeyInfo } from "../api.js";
import type { PageContext } from "../context.js";
import { clear, h } from "../dom.js";
import { date } from "../format.js";
import { jobView, trackJob } from "../jobs.js";
import { table } from "../resource-list.js";
import { badge, button, card, dialog, errorText, notice, pageHeader, spinner, toast } from "../ui.js";

export function keysPage(ctx: PageContext): HTMLElement {
  return h(
    "div",
    { class: "page" },
    pageHeader(
      "Encryption key",
      "Every object's data key is wrapped by a version of your key-encryption key. Rotate to start a new version; rewrap to move every object onto it.",
    ),
    keyPanel(ctx, undefined),
  );
}

/** The key of the caller (`user` undefined) or, for an admin, of `user`. */
export function keyPanel(ctx: PageContext, user: string | undefined): HTMLElement {
  const host = h("div", null, spinner());
  const jobHost = h("div", { class: "jobs-inline" });
  const msg = h("div");
  const who = user ?? ctx.me.name;

  const rotate = button("Rotate key", { icon: "rotate" });
  rotate.addEventListener("click", async () => {
    const ok = await dialog({
      title: "Rotate key?",
      body: h(
        "p",
        null,
        "A new key version becomes primary: new writes use it. Existing objects stay readable with their version until you rewrap them.",
      ),
      confirm: "Rotate",
      action: () => api.rotateKey(user),
    });
    if (ok) {
      toast("Key rotated", "success");
      load();
    }
  });
  const verify = user === undefined ? button("Verify objects", { icon: "shield" }) : null;
  verify?.addEventListener("click", async () => {
    verify.disabled = true;
    clear(msg);
    try {
      const { jobId } = await api.verify();
      trackJob(jobId, `Verification of ${who}'s objects`);
      jobHost.prepend(jobView(jobId, `Verification of ${who}'s objects`, ctx.signal));
    } catch (e) {
      clear(msg, notice("error", errorText(e)));
    } finally {
      verify.disabled = false;
    }
  });
  const rewrap = button("Rewrap objects", { icon: "refresh" });
  rewrap.addEventListener("click", async () => {
    rewrap.disabled = true;
    clear(msg);
    try {
      const { jobId } = await api.rewrap(user);
      trackJob(jobId, `Rewrap of ${who}'s objects`);
      jobHost.prepend(jobView(jobId, `Rewrap of ${who}'s objects`, ctx.signal, () => load()));
    } catch (e) {
      clear(msg, notice("error", errorText(e)));
    } finally {
      rewrap.disabled = false;
    }
  });

  function render(k: KeyInfo): void {
    const versions = [...k.versions].sort((a, b) => b.version - a.version);
    const min = h(
      "select",
      { class: "select", "aria-label": "Minimum decryption version" },
      versions
        .filter((v) => v.version >= k.minDecryptionVersion && v.version <= k.primaryVersion)
        .map((v) =>
          h(
            "option",
            { value: v.version, selected: v.version === k.minDecryptionVersion },
            `Version ${v.version}`,
          ),
        ),
    );
    const setMin = button("Set minimum", { variant: "secondary" });
    setMin.addEventListener("click", async () => {
      const version = Number(min.value);
      if (version === k.minDecryptionVersion) return;
      const ok = await dialog({
        title: `Retire versions below ${version}?`,
        body: [
          h(
            "p",
            null,
            `Key versions below ${version} are destroyed for good: nothing they wrapped can be decrypted again, and download links they signed stop working.`,
          ),
          h("p", null, "The server refuses while objects or S3 access keys still use them: rewrap first."),
        ],
        confirm: "Set minimum",
        danger: version > k.minDecryptionVersion,
        action: () => api.setMinVersion(version, user),
      });
      if (ok) {
        toast(`Minimum decryption version is now ${version}`, "success");
        load();
      }
    });
    const rows = versions.map((v) =>
      h(
        "tr",
        { "data-version": v.version },
        h(
          "td",
          null,
          h("strong", null, `v${v.version}`),
          " ",
          v.version === k.primaryVersion ? badge("primary", "success") : null,
          v.version < k.minDecryptionVersion ? badge("retired", "neutral") : null,
        ),
        h("td", { class: "hide-sm" }, date(v.created)),
        h("td", { class: "num" }, v.objects === undefined ? "–" : v.objects.toLocaleString()),
        h("td", { class: "num hide-sm" }, v.accessKeys === undefined ? "–" : v.accessKeys.toLocaleString()),
      ),
    );
    clear(
      host,
      h(
        "div",
        { class: "stats" },
        h(
          "div",
          { class: "stat" },
          h("span", { class: "stat-label" }, "Primary version"),
          h("span", { class: "stat-value", "data-testid": "primary-version" }, String(k.primaryVersion)),
        ),
        h(
          "div",
          { class: "stat" },
          h("span", { class: "stat-label" }, "Minimum decryption version"),
          h("span", { class: "stat-value" }, String(k.minDecryptionVersion)),
        ),
        h(
          "div",
          { class: "stat" },
          h("span", { class: "stat-label" }, "Versions"),
          h("span", { class: "stat-value" }, String(k.versions.length)),
        ),
      ),
      table(["Version", ["Created", "hide-sm"], ["Objects", "num"], ["Access keys", "num hide-sm"]], rows),
      h(
        "div",
        { class: "form-row" },
        h("label", { class: "field" }, h("span", null, "Minimum decryption version"), min),
        h("div", { class: "field end" }, setMin),
      ),
    );
  }

  async function load(): Promise<void> {
    try {
      render(await api.key(user));
    } catch (e) {
      clear(host, notice("error", errorText(e)));
    }
  }

  load();
  return card(
    h("span", null, `Key of ${who}`),
    h("div", { class: "card-actions" }, rotate, rewrap, verify),
    msg,
    jobHost,
    host,
  );
}
