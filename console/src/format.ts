// Numbers and dates the way people read them. Sizes follow the CLI's convention (IEC units), from
// the one formatter both share.
import { formatBytes, formatExactBytes } from "../../src/api/size-format.js";

export const bytes = formatBytes;
export const exactBytes = formatExactBytes;

export function date(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "–";
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function relative(iso: string | null | undefined): string {
  if (!iso) return "never";
  const ms = new Date(iso).getTime() - Date.now();
  const abs = Math.abs(ms);
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60_000) return fmt.format(Math.round(ms / 1000), "second");
  if (abs < 3_600_000) return fmt.format(Math.round(ms / 60_000), "minute");
  if (abs < 86_400_000) return fmt.format(Math.round(ms / 3_600_000), "hour");
  return fmt.format(Math.round(ms / 86_400_000), "day");
}

/** A short, readable label of a MIME type. */
export function typeLabel(type: string): string {
  return type.split(";")[0]?.trim() || "application/octet-stream";
}
