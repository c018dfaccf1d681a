// The console's entry: sign-in with a token (kept in this tab's sessionStorage, sent only as a
// bearer header), the shell with its navigation, and a hash router over the pages.
import { ApiError, api, type Me, setToken, setUnauthorizedHandler } from "./api.js";
import type { PageContext, Settings } from "./context.js";
import { clear, h } from "./dom.js";
import { type IconName, icon } from "./icons.js";
import { jobsPage, rootKeyPage } from "./pages/admin.js";
import { keysPage } from "./pages/keys.js";
import { objectsPage } from "./pages/objects.js";
import { tokensPage } from "./pages/tokens.js";
import { userPage, usersPage } from "./pages/users.js";
import { badge, button, emptyState, errorText, notice } from "./ui.js";
import { UploadPanel } from "./upload-panel.js";

const TOKEN_KEY = "sse.token";
const root = document.getElementById("app") as HTMLElement;

let settings: Settings = { maxObjectBytes: Number.MAX_SAFE_INTEGER, version: "", s3Port: 9000 };
let uploads: UploadPanel | null = null;
let pageAbort: AbortController | null = null;

function brand(): HTMLElement {
  return h(
    "span",
    { class: "brand" },
    h("span", { class: "logo" }, icon("lock")),
    h("span", { class: "brand-name" }, "SSE Store"),
  );
}

// --- sign-in ----------------------------------------------------------------------------------------
function signIn(message?: string): void {
  uploads?.detach();
  setToken(null);
  sessionStorage.removeItem(TOKEN_KEY);
  document.title = "Sign in · SSE Store";
  const input = h("input", {
    class: "input mono",
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "sse_…",
    required: true,
  });
  const err = h("div", { class: "signin-error" }, message ? notice("info", message) : null);
  const submit = button("Sign in", { variant: "primary block", type: "submit" });
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("label", { class: "field", for: "token" }, h("span", null, "API token"), input),
    err,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      clear(err, notice("error", "Paste a token to sign in."));
      return;
    }
    submit.disabled = true;
    clear(err);
    setToken(token);
    try {
      const me = await api.me();
      sessionStorage.setItem(TOKEN_KEY, token);
      input.value = "";
      // replaceState: no hashchange event, so the first page renders once.
      if (!location.hash || location.hash === "#/") history.replaceState(null, "", "#/objects/");
      shell(me);
    } catch (ex) {
      setToken(null);
      clear(err, notice("error", errorText(ex)));
      submit.disabled = false;
      input.focus();
      input.select();
    }
  });
  clear(
    root,
    h(
      "div",
      { class: "signin" },
      h(
        "main",
        { class: "signin-card" },
        brand(),
        h("h1", null, "Sign in"),
        h(
          "p",
          { class: "muted" },
          "Paste an API token. It is kept in this browser tab only, until you sign out or close the tab.",
        ),
        form,
        // No path here: the data directory is the server's (SSE_DATA_DIR, /data in Docker).
        h(
          "p",
          { class: "hint" },
          "First start? The admin's token is the server's ",
          h("code", null, "SSE_BOOTSTRAP_TOKEN"),
          ", or else in the file ",
          h("code", null, "bootstrap-token"),
          " in its data directory (",
          h("code", null, "SSE_DATA_DIR"),
          "); the server prints the file's path when it starts.",
        ),
      ),
      h(
        "p",
        { class: "signin-foot muted small" },
        `Everything is encrypted at rest · ${settings.version ? `v${settings.version}` : ""}`,
      ),
    ),
  );
  input.focus();
}

function signOut(message?: string): void {
  pageAbort?.abort();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem("sse.jobs");
  setUnauthorizedHandler(null);
  if (message === undefined) location.hash = "";
  signIn(message);
}

// --- the shell --------------------------------------------------------------------------------------
interface NavItem {
  href: string;
  label: string;
  icon: IconName;
  match: RegExp;
}

function navItems(me: Me): { main: NavItem[]; admin: NavItem[] } {
  const main: NavItem[] = [
    { href: "#/objects/", label: "Objects", icon: "folder", match: /^#\/objects/ },
    { href: "#/tokens", label: "API tokens", icon: "ticket", match: /^#\/tokens/ },
    { href: "#/keys", label: "Encryption key", icon: "key", match: /^#\/keys/ },
    { href: "#/jobs", label: "Jobs", icon: "activity", match: /^#\/jobs/ },
  ];
  const admin: NavItem[] =
    me.role === "admin"
      ? [
          { href: "#/users", label: "Users", icon: "users", match: /^#\/users/ },
          { href: "#/root-key", label: "Root key", icon: "shield", match: /^#\/root-key/ },
        ]
      : [];
  return { main, admin };
}

function shell(me: Me): void {
  setUnauthorizedHandler(() => signOut("Your session ended: the token is no longer valid. Sign in again."));
  uploads ??= new UploadPanel(settings.maxObjectBytes);
  const { main, admin } = navItems(me);
  const links: [NavItem, HTMLAnchorElement][] = [];
  const navLink = (n: NavItem) => {
    const a = h("a", { href: n.href, class: "nav-link" }, icon(n.icon), h("span", null, n.label));
    links.push([n, a]);
    return a;
  };
  // Where the uploads panel sits on a wide screen: under the navigation, never over the page.
  const uploadDock = h("div", { class: "sidebar-uploads" });
  const sidebar = h(
    "aside",
    { class: "sidebar", id: "sidebar" },
    h("a", { href: "#/objects/", class: "brand-link" }, brand()),
    h(
      "nav",
      { "aria-label": "Main" },
      main.map(navLink),
      admin.length ? [h("p", { class: "nav-section" }, "Administration"), admin.map(navLink)] : null,
    ),
    uploadDock,
    h(
      "p",
      { class: "sidebar-foot muted small" },
      settings.version ? `SSE Store v${settings.version}` : "SSE Store",
    ),
  );
  const menu = h(
    "button",
    {
      type: "button",
      class: "btn icon-only ghost menu-btn",
      "aria-label": "Menu",
      "aria-controls": "sidebar",
      "aria-expanded": "false",
    },
    icon("menu"),
  );
  menu.addEventListener("click", () => {
    const open = !document.body.classList.contains("nav-open");
    document.body.classList.toggle("nav-open", open);
    menu.setAttribute("aria-expanded", String(open));
  });
  const out = button("Sign out", { icon: "logout", variant: "ghost" });
  out.addEventListener("click", () => signOut());
  const topbar = h(
    "header",
    { class: "topbar" },
    menu,
    h("span", { class: "topbar-brand" }, brand()),
    h("span", { class: "spacer" }),
    h(
      "span",
      { class: "whoami", "data-testid": "whoami" },
      h("span", { class: "avatar", "aria-hidden": "true" }, me.name.slice(0, 1).toUpperCase()),
      h("span", { class: "who-name" }, me.name),
      badge(me.role, me.role === "admin" ? "accent" : "neutral"),
    ),
    out,
  );
  const content = h("main", { class: "content", id: "content", tabindex: "-1" });
  const scrim = h("div", { class: "scrim" });
  scrim.addEventListener("click", () => document.body.classList.remove("nav-open"));
  clear(root, h("div", { class: "shell" }, sidebar, scrim, h("div", { class: "main" }, topbar, content)));
  uploads.mount(uploadDock);

  const route = () => {
    document.body.classList.remove("nav-open");
    pageAbort?.abort();
    pageAbort = new AbortController();
    const hash = location.hash || "#/objects/";
    for (const [n, a] of links) {
      if (n.match.test(hash)) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    uploads?.setPage(/^#\/objects/.test(hash));
    const ctx: PageContext = { me, settings, signal: pageAbort.signal, uploads: uploads as UploadPanel };
    const [page, title] = render(ctx, hash);
    document.title = `${title} · SSE Store`;
    clear(content, page);
    content.scrollTop = 0;
  };
  window.onhashchange = route;
  route();
}

function render(ctx: PageContext, hash: string): [HTMLElement, string] {
  const admin = ctx.me.role === "admin";
  let m = /^#\/objects\/?(.*)$/.exec(hash);
  if (m) {
    const prefix = decodePrefix(m[1] ?? "");
    if (prefix === null) return [notFound("That folder path is not valid."), "Objects"];
    return [objectsPage(ctx, prefix), prefix ? `${prefix} · Objects` : "Objects"];
  }
  if (hash === "#/tokens") return [tokensPage(ctx), "API tokens"];
  if (hash === "#/keys") return [keysPage(ctx), "Encryption key"];
  if (hash === "#/jobs") return [jobsPage(ctx), "Jobs"];
  if (admin && hash === "#/users") return [usersPage(ctx), "Users"];
  if (admin && hash === "#/root-key") return [rootKeyPage(ctx), "Root key"];
  m = /^#\/users\/([^/]+)$/.exec(hash);
  if (admin && m) {
    const name = safeDecode(m[1] ?? "");
    if (name) return [userPage(ctx, name), name];
  }
  return [notFound("There is no such page, or your role does not show it."), "Not found"];
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** A folder from the URL: id characters only, ending in `/` (or empty for the top level). */
function decodePrefix(raw: string): string | null {
  const s = safeDecode(raw);
  if (s === null) return null;
  if (s === "") return "";
  const p = s.endsWith("/") ? s : `${s}/`;
  if (!/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/$/.test(p) || p.length > 1024) return null;
  return p;
}

function notFound(text: string): HTMLElement {
  return h(
    "div",
    { class: "page" },
    emptyState("info", "Not found", [text, " ", h("a", { href: "#/objects/" }, "Go to your objects"), "."]),
  );
}

// --- boot -------------------------------------------------------------------------------------------
async function boot(): Promise<void> {
  try {
    settings = await api.settings();
  } catch {
    // Defaults: the server still enforces its limit.
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return signIn();
  setToken(token);
  try {
    shell(await api.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401)
      signOut("Your session ended: the token is no longer valid. Sign in again.");
    else signIn(errorText(e));
  }
}

void boot();
