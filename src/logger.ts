// The process logger: JSON lines (pino) with secrets censored by field name, and a request
// serializer that keeps only what is safe to log (no headers, no query string). On a developer's
// terminal the same records are printed as readable lines (log-format.ts).
import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config.js";
import { loggablePath, type PathSource } from "./http/redact-path.js";
import { readableDestination } from "./log-format.js";

/** Field names whose values are secret, wherever a log call puts them (top level or one object down). */
const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "token",
  "secret",
  "password",
  "passphrase",
  "pin",
  "key",
  "dek",
  "kek",
  "bootstrapToken",
  "metricsToken",
  "pkcs11Pin",
  "databaseUrl",
  "keysDatabaseUrl",
  "connectionString",
];

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
];

interface LoggableRequest extends PathSource {
  method: string;
  ip?: string;
}

type LogSettings = Pick<Config, "logLevel"> & Partial<Pick<Config, "logFormat" | "production">>;

/** Readable lines (log-format.ts) or JSON: SSE_LOG_FORMAT, and with `auto` a terminal outside production. */
export function readableLogs(config: LogSettings, stdout: { isTTY?: boolean } = process.stdout): boolean {
  if (config.logFormat === "pretty") return true;
  if (config.logFormat === "json") return false;
  return stdout.isTTY === true && config.production !== true;
}

/** The process logger: to `destination` when given (tests), else to stdout, readable or JSON (readableLogs). */
export function createLogger(config: LogSettings, destination?: DestinationStream): Logger {
  const out =
    destination ??
    (readableLogs(config)
      ? readableDestination(process.stdout, process.stdout.hasColors?.() === true)
      : undefined);
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: {
        // URLs carry download-link tokens (path) and may carry secrets (query): log neither.
        req: (req: LoggableRequest) => ({
          method: req.method,
          path: loggablePath(req),
          route: req.routeOptions?.url,
          remoteAddress: req.ip,
        }),
        err: pino.stdSerializers.err,
      },
    },
    out,
  );
}
