// Byte counts for people, one convention for the CLI and the web console (which bundles this file:
// no Node or Fastify import here). IEC units, because everything this server sizes is binary: its
// limit (SSE_MAX_OBJECT_BYTES, 5 GiB), its segments (64 KiB), its caches (…_MIB); and because
// "MiB" cannot be misread, where "MB" means 10^6 to some readers and 2^20 to others.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/**
 * `0 B`, `999 B`, `1.0 KiB`, `9.8 MiB`, `300 MiB`, `5.0 GiB`: exact bytes below 1 KiB, then one
 * decimal below 10 units and whole units above. `-` for a value that is not a byte count.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  // Rounding may reach the next unit (1023.7 KiB shows as 1.0 MiB, not 1024 KiB).
  if (Math.round(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 9.95 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

/** `52,428,800 bytes`: the exact count, grouped by thousands, for details next to formatBytes. */
export function formatExactBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  const digits = String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${digits} byte${n === 1 ? "" : "s"}`;
}
