// Readable log lines for a developer's terminal (SSE_LOG_FORMAT=pretty, or auto on a TTY): the JSON
// lines pino writes, turned into `12:04:05.123 INFO  request completed GET /data/x 200 3.1ms …`.
// Small and without a dependency; production logs stay JSON (pino-pretty is not installed).
import type { DestinationStream } from "pino";

const LEVELS: Record<number, [name: string, color: number]> = {
  10: ["TRACE", 90],
  20: ["DEBUG", 90],
  30: ["INFO ", 32],
  40: ["WARN ", 33],
  50: ["ERROR", 31],
  60: ["FATAL", 35],
};
/** Shown in the line's head, or nowhere (the pid and host are the same on every line of a terminal). */
const HEAD_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "err"]);

const paint = (on: boolean, code: number, text: string) => (on ? `\x1b[${code}m${text}\x1b[39m` : text);

function value(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** Fields in a short form, first the request as `GET /path`, its status and time; then key=value. */
function fields(rec: Record<string, unknown>, color: boolean): string[] {
  const short: string[] = [];
  const rest: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (HEAD_FIELDS.has(k) || v === undefined) continue;
    const req = v as { method?: string; path?: string };
    if (k === "req" && req && typeof req.method === "string")
      short.unshift(`${req.method} ${req.path ?? ""}`);
    else if (k === "res" && typeof (v as { statusCode?: unknown })?.statusCode === "number")
      short.push(String((v as { statusCode: number }).statusCode));
    else if (k === "responseTime" && typeof v === "number") short.push(`${v.toFixed(1)}ms`);
    else rest.push(paint(color, 2, `${k}=`) + value(v));
  }
  return [...short, ...rest];
}

/** One JSON log line as a readable line (several when an error carries a stack); other text as it is. */
export function formatLogLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (rec === null || typeof rec !== "object") return line;
  const [name, code] = LEVELS[rec.level as number] ?? [String(rec.level).padEnd(5), 39];
  const time = typeof rec.time === "number" ? new Date(rec.time).toTimeString().slice(0, 8) : "--:--:--";
  const ms = typeof rec.time === "number" ? `.${String(rec.time % 1000).padStart(3, "0")}` : "";
  const head = `${paint(color, 2, time + ms)} ${paint(color, code, name)} ${String(rec.msg ?? "")}`;
  const err = rec.err as { message?: string; stack?: string } | undefined;
  const tail = [...fields(rec, color), ...(err?.message && !err.stack ? [`err=${value(err.message)}`] : [])];
  const stack = err?.stack ? `\n${err.stack.replace(/^/gm, "    ")}` : "";
  return `${[head, ...tail].join(" ")}${stack}`;
}

/** A pino destination that writes readable lines to `out` (a terminal). */
export function readableDestination(
  out: { write(text: string): unknown },
  color: boolean,
): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) if (line !== "") out.write(`${formatLogLine(line, color)}\n`);
    },
  };
}
