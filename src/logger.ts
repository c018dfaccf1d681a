// The process logger: JSON lines (pino) with secrets censored by field name, and a request
// serializer that keeps only what is safe to log (no headers, no query string).
import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config.js";
import { loggablePath, type PathSource } from "./http/redact-path.js";

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

export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
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
    destination,
  );
}
