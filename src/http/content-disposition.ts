// Content-Disposition for downloads (RFC 6266): a quoted ASCII fallback `filename`, plus the
// RFC 8187 (ex-5987) `filename*` with UTF-8 percent-encoding when the fallback lost anything.

/** attr-char of RFC 8187: what may appear unencoded in `filename*`. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

function fallback(name: string): string {
  // Printable ASCII minus the characters a quoted-string would need escaped (and % to avoid decoding).
  return name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
}

function encodeExt(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function attachment(filename: string): string {
  const name = filename.length > 0 ? filename : "download";
  const ascii = fallback(name);
  const header = `attachment; filename="${ascii}"`;
  return ascii === name ? header : `${header}; filename*=UTF-8''${encodeExt(name)}`;
}

/** The file name a download of object `id` gets: its last `/` segment. */
export function downloadName(id: string, kind: "item" | "blob"): string {
  const last = id.slice(id.lastIndexOf("/") + 1);
  return kind === "item" ? `${last}.json` : last;
}
