// The object browser: a folder view of the caller's ids (`/` makes folders), search by prefix,
// paging, uploads by picker or drag and drop, downloads through links, metadata and delete.
import { api, type FolderPage, type ListedObject } from "../api.js";
import type { PageContext } from "../context.js";
import { clear, h } from "../dom.js";
import { bytes, date, exactBytes, relative, typeLabel } from "../format.js";
import { icon } from "../icons.js";
import { table } from "../resource-list.js";
import {
  badge,
  button,
  copyField,
  dialog,
  emptyState,
  errorText,
  iconButton,
  notice,
  pageHeader,
  spinner,
  toast,
} from "../ui.js";
import { idForFileName } from "../upload.js";

const PAGE_SIZES = [50, 100, 250, 1000];
const LINK_CHOICES: [string, number][] = [
  ["5 minutes", 300],
  ["1 hour", 3600],
  ["1 day", 86400],
  ["7 days", 604800],
];

export function objectsHref(prefix: string): string {
  return `#/objects/${prefix}`;
}

function lastSegment(id: string, prefix: string): string {
  return id.startsWith(prefix) ? id.slice(prefix.length) : id;
}

function fileName(id: string): string {
  return id.slice(id.lastIndexOf("/") + 1);
}

/** Starts a browser download through a short-lived link: the bytes never pass through this page. */
export async function download(obj: ListedObject): Promise<void> {
  const { url } = await api.link(obj.id, 300);
  const a = h("a", {
    href: url,
    download: obj.kind === "item" ? `${obj.id}.json` : fileName(String(obj.id)),
    class: "offscreen",
  });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export function objectsPage(ctx: PageContext, prefix: string): HTMLElement {
  let pageSize = Number(sessionStorage.getItem("sse.pageSize")) || 100;
  let search = "";
  /** cursors[n] opens page n (cursors[0] = null, the first page). */
  let cursors: (string | null)[] = [null];
  let pageNo = 0;
  let current: FolderPage | null = null;
  let loadSeq = 0;

  const tableHost = h("div", { class: "table-host" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const fileInput = h("input", {
    type: "file",
    multiple: true,
    class: "offscreen",
    "aria-label": "Choose files to upload",
    tabindex: "-1",
  });
  fileInput.addEventListener("change", () => {
    if (fileInput.files && fileInput.files.length > 0) ctx.uploads.add(Array.from(fileInput.files), prefix);
    fileInput.value = "";
  });

  const uploadBtn = button("Upload files", { icon: "upload", variant: "primary" });
  uploadBtn.addEventListener("click", () => fileInput.click());
  const folderBtn = button("New folder", { icon: "folderPlus" });
  folderBtn.addEventListener("click", () => newFolder());

  const searchInput = h("input", {
    class: "input",
    type: "search",
    placeholder: prefix ? `Search in ${prefix}` : "Search by name prefix",
    "aria-label": "Search by name prefix",
    autocomplete: "off",
    spellcheck: "false",
  });
  let searchTimer = 0;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => {
      search = searchInput.value.trim();
      restart();
    }, 250);
  });
  const refresh = iconButton("refresh", "Refresh");
  refresh.addEventListener("click", () => load());

  const crumbs = breadcrumbs(prefix);
  const dropHint = h(
    "div",
    { class: "drop-hint", "aria-hidden": "true" },
    icon("upload", "icon big"),
    h("p", null, "Drop files to upload to ", h("strong", null, prefix || "the top level")),
  );
  const page = h(
    "div",
    { class: "page objects-page" },
    pageHeader("Objects", crumbs, folderBtn, uploadBtn),
    h("div", { class: "toolbar" }, h("label", { class: "search" }, icon("search"), searchInput), refresh),
    fileInput,
    tableHost,
    pager,
    dropHint,
  );

  // Drag and drop anywhere on the page; a counter copes with enter/leave of child elements.
  let depth = 0;
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes("Files");
  page.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    page.classList.add("dragging");
  });
  page.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
  });
  page.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) page.classList.remove("dragging");
  });
  page.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    page.classList.remove("dragging");
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length > 0) ctx.uploads.add(files, prefix);
  });

  const off = ctx.uploads.onUploaded((id) => {
    if (id.startsWith(prefix) && !ctx.signal.aborted) load();
  });
  ctx.signal.addEventListener("abort", off);

  function restart(): void {
    cursors = [null];
    pageNo = 0;
    load();
  }

  async function load(): Promise<void> {
    const seq = ++loadSeq;
    if (!current) clear(tableHost, spinner());
    tableHost.setAttribute("aria-busy", "true");
    try {
      const data = await api.listFolder(prefix + search, cursors[pageNo] ?? null, pageSize);
      if (seq !== loadSeq || ctx.signal.aborted) return;
      current = data;
      if (data.next) cursors[pageNo + 1] = data.next;
      else cursors.length = pageNo + 1;
      renderTable(data);
      renderPager(data);
    } catch (e) {
      if (seq !== loadSeq) return;
      // Nothing is shown, so the pager must not count the rows of the last page that loaded.
      current = null;
      clear(tableHost, notice("error", errorText(e)));
      clear(pager);
    } finally {
      tableHost.removeAttribute("aria-busy");
    }
  }

  function renderTable(data: FolderPage): void {
    if (data.folders.length === 0 && data.objects.length === 0) {
      clear(
        tableHost,
        search
          ? emptyState("search", "Nothing matches", [
              "No object in this folder starts with ",
              h("strong", null, search),
              ".",
            ])
          : emptyState(
              "folder",
              prefix ? "This folder is empty" : "No objects yet",
              "Upload files with the button above, or drop them here.",
            ),
      );
      return;
    }
    const rows: HTMLElement[] = [];
    for (const f of data.folders) {
      const name = lastSegment(f, prefix);
      rows.push(
        h(
          "tr",
          { class: "folder-row" },
          h(
            "td",
            { class: "name" },
            h(
              "a",
              { href: objectsHref(f), class: "entry" },
              icon("folder", "icon folder"),
              h("span", null, name),
            ),
          ),
          h("td", { class: "num hide-sm" }, "—"),
          h("td", { class: "hide-sm" }, "Folder"),
          h("td", { class: "hide-sm" }, ""),
          h("td", { class: "row-actions" }),
        ),
      );
    }
    for (const o of data.objects) {
      const id = String(o.id);
      const open = h(
        "button",
        { type: "button", class: "entry linklike", title: id },
        icon("file", "icon file"),
        h("span", null, lastSegment(id, prefix)),
      );
      open.addEventListener("click", () => details(o));
      const dl = iconButton("download", `Download ${id}`);
      dl.addEventListener("click", () => download(o).catch((e) => toast(errorText(e), "error")));
      const del = iconButton("trash", `Delete ${id}`, { class: "btn icon-only ghost danger-hover" });
      del.addEventListener("click", () => confirmDelete(o));
      rows.push(
        h(
          "tr",
          { "data-id": id },
          h(
            "td",
            { class: "name" },
            open,
            h("div", { class: "sub show-sm muted small" }, `${bytes(o.size)} · ${relative(o.modified)}`),
          ),
          h("td", { class: "num hide-sm", title: exactBytes(o.size) }, bytes(o.size)),
          h(
            "td",
            { class: "hide-sm type" },
            o.kind === "item" ? badge("item", "neutral") : typeLabel(o.contentType),
          ),
          h("td", { class: "hide-sm", title: date(o.modified) }, relative(o.modified)),
          h("td", { class: "row-actions" }, dl, del),
        ),
      );
    }
    clear(
      tableHost,
      table(["Name", ["Size", "num hide-sm"], ["Type", "hide-sm"], ["Modified", "hide-sm"]], rows, {
        actions: true,
        class: "table objects",
      }),
    );
  }

  function renderPager(data: FolderPage): void {
    const count = data.folders.length + data.objects.length;
    const prev = button("Previous", { icon: "chevronLeft", variant: "secondary small" });
    prev.disabled = pageNo === 0;
    prev.addEventListener("click", () => {
      pageNo--;
      load();
    });
    const next = button("Next", { variant: "secondary small" });
    next.appendChild(icon("chevronRight"));
    next.disabled = !data.next;
    next.addEventListener("click", () => {
      pageNo++;
      load();
    });
    const size = h(
      "select",
      { class: "select small", "aria-label": "Rows per page" },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === pageSize }, `${n} per page`)),
    );
    size.addEventListener("change", () => {
      pageSize = Number(size.value);
      sessionStorage.setItem("sse.pageSize", String(pageSize));
      restart();
    });
    const first = pageNo * pageSize + 1;
    clear(
      pager,
      h(
        "span",
        { class: "muted small" },
        count === 0 ? "" : `Showing ${first.toLocaleString()}–${(first + count - 1).toLocaleString()}`,
      ),
      h("span", { class: "spacer" }),
      size,
      prev,
      h("span", { class: "page-no" }, `Page ${pageNo + 1}`),
      next,
    );
  }

  async function newFolder(): Promise<void> {
    const input = h("input", {
      class: "input",
      type: "text",
      placeholder: "e.g. reports",
      autocomplete: "off",
      spellcheck: "false",
      "aria-label": "Folder name",
    });
    let name = "";
    const ok = await dialog({
      title: "New folder",
      body: [
        h("p", null, "Folders are parts of object ids: the folder appears once it holds a file."),
        h("label", { class: "field" }, h("span", null, "Name"), input),
      ],
      confirm: "Open folder",
      action: () => {
        name = idForFileName(input.value.trim().replace(/\/+$/, ""));
        if (!input.value.trim()) throw new Error("Enter a name.");
      },
    });
    if (ok) location.hash = objectsHref(`${prefix}${name}/`);
  }

  function confirmDelete(o: ListedObject): void {
    const id = String(o.id);
    void dialog({
      title: "Delete object?",
      body: [
        h(
          "p",
          null,
          h("strong", { class: "mono break" }, id),
          ` (${bytes(o.size)}) will be deleted. This cannot be undone.`,
        ),
      ],
      confirm: "Delete",
      danger: true,
      action: () => api.deleteObject(o.id),
    }).then((ok) => {
      if (!ok) return;
      toast(`Deleted ${id}`, "success");
      closeDrawer();
      load();
    });
  }

  // --- details drawer -----------------------------------------------------------------------------
  let drawer: HTMLElement | null = null;
  function closeDrawer(): void {
    drawer?.remove();
    drawer = null;
  }
  ctx.signal.addEventListener("abort", closeDrawer);

  function details(o: ListedObject): void {
    closeDrawer();
    const id = String(o.id);
    const linkOut = h("div", { class: "link-out" });
    const expiry = h(
      "select",
      { class: "select", "aria-label": "Link lifetime" },
      LINK_CHOICES.map(([label, s]) => h("option", { value: s, selected: s === 3600 }, label)),
    );
    const makeLink = button("Create link", { icon: "link" });
    makeLink.addEventListener("click", async () => {
      makeLink.disabled = true;
      try {
        const r = await api.link(o.id, Number(expiry.value));
        clear(
          linkOut,
          copyField(r.url, "download link"),
          h(
            "p",
            { class: "muted small" },
            `Anyone with this link can download this version of the object until ${date(r.expiresAt)}. It stops working if the object changes.`,
          ),
        );
      } catch (e) {
        clear(linkOut, notice("error", errorText(e)));
      } finally {
        makeLink.disabled = false;
      }
    });
    const dl = button("Download", { icon: "download", variant: "primary" });
    dl.addEventListener("click", () => download(o).catch((e) => toast(errorText(e), "error")));
    const del = button("Delete", { icon: "trash", variant: "danger-outline" });
    del.addEventListener("click", () => confirmDelete(o));
    const close = iconButton("close", "Close details");
    close.addEventListener("click", closeDrawer);
    const row = (k: string, v: Node | string) => [h("dt", null, k), h("dd", null, v)];
    drawer = h(
      "div",
      { class: "drawer-backdrop" },
      h(
        "aside",
        { class: "drawer", role: "dialog", "aria-modal": "true", "aria-label": `Details of ${id}` },
        h("header", null, icon("file", "icon file"), h("h2", { class: "break" }, fileName(id)), close),
        h(
          "dl",
          { class: "meta" },
          row("Id", h("span", { class: "mono break" }, id)),
          row("Size", `${bytes(o.size)} (${exactBytes(o.size)})`),
          row("Type", h("span", { class: "mono break" }, o.contentType)),
          row("ETag", h("span", { class: "mono break" }, o.etag)),
          row("Key version", String(o.keyVersion)),
          row("Created", date(o.created)),
          row("Modified", date(o.modified)),
        ),
        h("div", { class: "drawer-actions" }, dl, del),
        h(
          "section",
          { class: "share" },
          h("h3", null, "Share a download link"),
          h("div", { class: "inline" }, expiry, makeLink),
          linkOut,
        ),
      ),
    );
    drawer.addEventListener("click", (e) => {
      if (e.target === drawer) closeDrawer();
    });
    drawer.addEventListener("keydown", (e) => {
      if (e.key === "Escape") closeDrawer();
    });
    document.body.appendChild(drawer);
    close.focus();
  }

  load();
  return page;
}

function breadcrumbs(prefix: string): HTMLElement {
  const parts = prefix.split("/").filter(Boolean);
  const nav = h("nav", { class: "crumbs", "aria-label": "Folder" });
  nav.appendChild(h("a", { href: objectsHref("") }, "All objects"));
  let acc = "";
  parts.forEach((p, i) => {
    acc += `${p}/`;
    nav.appendChild(icon("chevronRight", "icon sep"));
    nav.appendChild(
      i === parts.length - 1
        ? h("span", { "aria-current": "page" }, p)
        : h("a", { href: objectsHref(acc) }, p),
    );
  });
  return nav;
}
