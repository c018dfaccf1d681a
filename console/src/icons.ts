// Line icons drawn for the console (24×24, stroked with currentColor), built as SVG elements.
const PATHS: Record<string, string> = {
  folder:
    "M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2h8.5A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z",
  file: "M6 3h8l4 4v14H6z M14 3v4h4",
  upload: "M12 15V4 M7 9l5-5 5 5 M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4",
  download: "M12 4v11 M7 10l5 5 5-5 M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4",
  trash: "M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13 M10 11v6 M14 11v6",
  key: "M8 16a4 4 0 1 1 0-8 4 4 0 0 1 0 8z M12 12h9 M18 12v3 M21 12v2",
  users:
    "M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6 M16.5 11.5a2.5 2.5 0 1 0 0-5 M17 14.2c2.3.5 4 2.6 4 5.8",
  ticket: "M4 7h16v3a2 2 0 0 0 0 4v3H4v-3a2 2 0 0 0 0-4z M14 7v10",
  activity: "M3 12h4l3-7 4 14 3-7h4",
  logout: "M10 4H5v16h5 M15 8l4 4-4 4 M19 12H9",
  search: "M11 17a6 6 0 1 0 0-12 6 6 0 0 0 0 12z M16 16l4 4",
  link: "M10 14l4-4 M8.5 11.5l-2 2a3 3 0 0 0 4.2 4.2l2-2 M15.5 12.5l2-2a3 3 0 0 0-4.2-4.2l-2 2",
  copy: "M9 9h11v11H9z M5 15H4V4h11v1",
  refresh: "M20 12a8 8 0 1 1-2.3-5.7 M20 4v5h-5",
  close: "M6 6l12 12 M18 6L6 18",
  shield: "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z M9 12l2 2 4-4",
  info: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M12 11v6 M12 7.5v.01",
  chevronRight: "M9 6l6 6-6 6",
  chevronLeft: "M15 6l-6 6 6 6",
  chevronDown: "M6 9l6 6 6-6",
  plus: "M12 5v14 M5 12h14",
  folderPlus:
    "M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2h8.5A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z M12 10v6 M9 13h6",
  lock: "M6 11h12v9H6z M8.5 11V8a3.5 3.5 0 0 1 7 0v3",
  alert: "M12 4l9 16H3z M12 10v4 M12 17v.01",
  check: "M5 12.5l4.5 4.5L19 7.5",
  rotate: "M4 12a8 8 0 0 1 13.7-5.6L20 8 M20 4v4h-4 M20 12a8 8 0 0 1-13.7 5.6L4 16 M4 20v-4h4",
  more: "M5 12h.01 M12 12h.01 M19 12h.01",
  menu: "M4 7h16 M4 12h16 M4 17h16",
};

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, cls = "icon"): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", PATHS[name] ?? "");
  svg.appendChild(p);
  return svg;
}
