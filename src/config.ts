// Every setting of the server in one table: its environment name, its CLI flag, its default and
// its validation. `loadConfig` is the only place that turns strings into a frozen Config (reading
// the files that secrets' `<NAME>_FILE` variables name).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";

export type KeyProviderName = "file" | "passphrase" | "pkcs11";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export type LogFormat = "auto" | "json" | "pretty";
export const CIPHER_SETTINGS = ["auto", "aes256gcm", "xchacha20poly1305"] as const;
/** SSE_CIPHER: the suite of new writes (crypto/cipher-choice.ts). */
export type CipherSetting = (typeof CIPHER_SETTINGS)[number];

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly keysDatabaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly sqliteCacheMib: number;
  readonly readThread: boolean;
  readonly cipher: CipherSetting;
  /** Server processes sharing the ports (SSE_WORKERS); the number of cores when not set. */
  readonly workers: number;
  readonly gcEveryMib: number;
  readonly bootstrapToken: string | undefined;
  readonly keyProvider: KeyProviderName;
  readonly passphrase: string | undefined;
  readonly passphraseFile: string | undefined;
  readonly pkcs11Module: string | undefined;
  readonly pkcs11Slot: number | undefined;
  readonly pkcs11TokenLabel: string | undefined;
  readonly pkcs11Pin: string | undefined;
  readonly pkcs11PinFile: string | undefined;
  readonly pkcs11KeyLabel: string;
  readonly maxObjectBytes: number;
  /** Undefined: the larger of 1 GiB and 2 % of the data directory's volume, measured at start. */
  readonly minFreeBytes: number | undefined;
  /** A pause after each batch of a background job (rewrap, root rotation, verify). */
  readonly jobPauseMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly shutdownTimeoutSeconds: number;
  readonly publicUrl: string | undefined;
  readonly trustProxy: boolean;
  readonly authFailureLimit: number;
  readonly authFailureWindowSeconds: number;
  readonly keyCacheSize: number;
  readonly keyCacheTtlSeconds: number;
  readonly metricsToken: string | undefined;
  readonly s3Port: number;
  readonly s3Domain: string | undefined;
  readonly s3Region: string;
  readonly s3MultipartTtlSeconds: number;
  readonly audit: boolean;
  /** Undefined in the table: NODE_ENV=production decides (loadConfig). */
  readonly auditRequired: boolean;
  readonly auditReads: boolean;
  readonly auditCheckpointSeconds: number;
  readonly auditExport: string | undefined;
  /** NODE_ENV=production: download links only on SSE_PUBLIC_URL (http/public-url.ts). */
  readonly production: boolean;
}

type Kind = "string" | "int" | "bool" | "enum";

export interface SettingSpec {
  readonly key: keyof Config;
  readonly env: string;
  readonly flag: string;
  readonly kind: Kind;
  readonly description: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  /** Other spellings an enum accepts, each mapped to its choice. */
  readonly aliases?: Readonly<Record<string, string>>;
  readonly min?: number;
  readonly max?: number;
  /**
   * Never printed: --help and logs show only whether it is set. A secret may also come from a file
   * named by `<env>_FILE` (as the official postgres image does), so that it shows in neither the
   * environment nor `docker inspect`.
   */
  readonly secret?: boolean;
  /**
   * A secret whose `<env>_FILE` is a setting of its own, read by the key provider when it needs the
   * secret (the passphrase and the PIN stay out of JavaScript strings): only "not both" applies.
   */
  readonly fileSetting?: keyof Config;
}

/** The environment variable that names a secret's file: SSE_DATABASE_URL → SSE_DATABASE_URL_FILE. */
export const fileEnv = (spec: SettingSpec) => `${spec.env}_FILE`;

const GiB = 1024 ** 3;

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: "host",
    env: "SSE_HOST",
    flag: "--host",
    kind: "string",
    default: "127.0.0.1",
    description: "address to listen on",
  },
  {
    key: "port",
    env: "SSE_PORT",
    flag: "--port",
    kind: "int",
    default: 8000,
    min: 0,
    max: 65535,
    description: "port to listen on",
  },
  {
    key: "dataDir",
    env: "SSE_DATA_DIR",
    flag: "--data-dir",
    kind: "string",
    default: "./data",
    description: "directory of the embedded stores (objects.db, keys.db) and the file provider's key",
  },
  {
    key: "databaseUrl",
    env: "SSE_DATABASE_URL",
    flag: "--database-url",
    kind: "string",
    secret: true,
    description: "postgres://… to use PostgreSQL instead of the embedded SQLite store",
  },
  {
    key: "keysDatabaseUrl",
    env: "SSE_KEYS_DATABASE_URL",
    flag: "--keys-database-url",
    kind: "string",
    secret: true,
    description: "PostgreSQL database for wrapped keys (default: schema sse_keys of SSE_DATABASE_URL)",
  },
  {
    key: "databasePoolSize",
    env: "SSE_DATABASE_POOL_SIZE",
    flag: "--database-pool-size",
    kind: "int",
    default: 10,
    min: 1,
    max: 1000,
    description: "PostgreSQL connections per server process for objects (keys use 4 more)",
  },
  {
    key: "sqliteCacheMib",
    env: "SSE_SQLITE_CACHE_MIB",
    flag: "--sqlite-cache-mib",
    kind: "int",
    default: 2,
    min: 1,
    max: 65536,
    description: "SQLite page cache of objects.db, in MiB (the operating system caches the file as well)",
  },
  {
    key: "readThread",
    env: "SSE_READ_THREAD",
    flag: "--read-thread",
    kind: "bool",
    default: false,
    description:
      "decrypt large downloads on a second thread: faster downloads on a machine with cores to spare, for 15-20 MB more memory (docs/OPERATIONS.md, section Memory)",
  },
  {
    key: "cipher",
    env: "SSE_CIPHER",
    flag: "--cipher",
    kind: "enum",
    choices: CIPHER_SETTINGS,
    // The names as RFC 5116 and RFC 8439 spell them.
    aliases: { "aes-256-gcm": "aes256gcm", "xchacha20-poly1305": "xchacha20poly1305" },
    default: "auto",
    description:
      "the AEAD new writes are sealed with: aes256gcm (or aes-256-gcm), xchacha20poly1305 (or xchacha20-poly1305), or auto (AES-256-GCM where the CPU has AES instructions, else XChaCha20-Poly1305); objects written with either stay readable (docs/FORMAT.md, section Suites)",
  },
  {
    key: "workers",
    env: "SSE_WORKERS",
    flag: "--workers",
    kind: "int",
    min: 1,
    max: 256,
    description:
      "server processes sharing the ports, on SQLite and PostgreSQL alike (default: the number of cores; 1: one process, as before) (docs/OPERATIONS.md, section Workers)",
  },
  {
    key: "gcEveryMib",
    env: "SSE_GC_EVERY_MIB",
    flag: "--gc-every-mib",
    kind: "int",
    default: 8,
    min: 0,
    max: 1024,
    description:
      "ask for a young garbage collection after every this many MiB of streamed object data, which bounds the memory large transfers hold (0: leave it to V8)",
  },
  {
    key: "bootstrapToken",
    env: "SSE_BOOTSTRAP_TOKEN",
    flag: "--bootstrap-token",
    kind: "string",
    secret: true,
    description:
      "the admin's token on first start (default: random, written to $SSE_DATA_DIR/bootstrap-token)",
  },
  {
    key: "keyProvider",
    env: "SSE_KEY_PROVIDER",
    flag: "--key-provider",
    kind: "enum",
    choices: ["file", "passphrase", "pkcs11"],
    default: "file",
    description: "where the root key lives",
  },
  {
    key: "passphrase",
    env: "SSE_PASSPHRASE",
    flag: "--passphrase",
    kind: "string",
    secret: true,
    fileSetting: "passphraseFile",
    description: "passphrase provider: the passphrase",
  },
  {
    key: "passphraseFile",
    env: "SSE_PASSPHRASE_FILE",
    flag: "--passphrase-file",
    kind: "string",
    description: "passphrase provider: a file holding the passphrase",
  },
  {
    key: "pkcs11Module",
    env: "SSE_PKCS11_MODULE",
    flag: "--pkcs11-module",
    kind: "string",
    description: "pkcs11 provider: path of the PKCS#11 module (.so)",
  },
  {
    key: "pkcs11Slot",
    env: "SSE_PKCS11_SLOT",
    flag: "--pkcs11-slot",
    kind: "int",
    min: 0,
    description: "pkcs11 provider: slot id",
  },
  {
    key: "pkcs11TokenLabel",
    env: "SSE_PKCS11_TOKEN_LABEL",
    flag: "--pkcs11-token-label",
    kind: "string",
    description: "pkcs11 provider: token label (instead of the slot)",
  },
  {
    key: "pkcs11Pin",
    env: "SSE_PKCS11_PIN",
    flag: "--pkcs11-pin",
    kind: "string",
    secret: true,
    fileSetting: "pkcs11PinFile",
    description: "pkcs11 provider: user PIN",
  },
  {
    key: "pkcs11PinFile",
    env: "SSE_PKCS11_PIN_FILE",
    flag: "--pkcs11-pin-file",
    kind: "string",
    description: "pkcs11 provider: a file holding the user PIN",
  },
  {
    key: "pkcs11KeyLabel",
    env: "SSE_PKCS11_KEY_LABEL",
    flag: "--pkcs11-key-label",
    kind: "string",
    default: "sse-root",
    description: "pkcs11 provider: label prefix of the root key objects",
  },
  {
    key: "maxObjectBytes",
    env: "SSE_MAX_OBJECT_BYTES",
    flag: "--max-object-bytes",
    kind: "int",
    default: 5 * 1024 * GiB,
    min: 1,
    description:
      "largest accepted object, in bytes (5 TiB, as S3; one S3 PutObject or part stays within 5 GiB)",
  },
  {
    key: "minFreeBytes",
    env: "SSE_MIN_FREE_BYTES",
    flag: "--min-free-bytes",
    kind: "int",
    min: 0,
    description:
      "free space kept in reserve on the data directory's volume: uploads that would go below it are refused (507), so that deletes, key and token changes and small items still have room (default: the larger of 1 GiB and 2 % of the volume; 0: no reserve). Embedded SQLite store only",
  },
  {
    key: "jobPauseMs",
    env: "SSE_JOB_PAUSE_MS",
    flag: "--job-pause-ms",
    kind: "int",
    default: 0,
    min: 0,
    max: 60_000,
    description:
      "pause in milliseconds after each batch of a background job (rewrap, root rotation, verify), which leaves the disk and the CPU to requests at the cost of a slower job (0: no pause)",
  },
  {
    key: "logLevel",
    env: "SSE_LOG_LEVEL",
    flag: "--log-level",
    kind: "enum",
    choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    default: "info",
    description: "log level",
  },
  {
    key: "logFormat",
    env: "SSE_LOG_FORMAT",
    flag: "--log-format",
    kind: "enum",
    choices: ["auto", "json", "pretty"],
    default: "auto",
    description:
      "json: one JSON object a line (pino); pretty: readable lines and a start banner; auto: pretty when stdout is a terminal and NODE_ENV is not production, else json",
  },
  {
    key: "shutdownTimeoutSeconds",
    env: "SSE_SHUTDOWN_TIMEOUT",
    flag: "--shutdown-timeout",
    kind: "int",
    default: 30,
    min: 0,
    description: "seconds in-flight requests may take to finish on SIGTERM",
  },
  {
    key: "publicUrl",
    env: "SSE_PUBLIC_URL",
    flag: "--public-url",
    kind: "string",
    description:
      "base URL clients reach the server at, for download links (default: with --trust-proxy the proxy's X-Forwarded-Proto/-Host, else the listen address; required for links when NODE_ENV=production)",
  },
  {
    key: "trustProxy",
    env: "SSE_TRUST_PROXY",
    flag: "--trust-proxy",
    kind: "bool",
    default: false,
    description:
      "trust the one proxy you run in front: the client address from X-Forwarded-For (the address it appended), and without --public-url the links' scheme and host from its X-Forwarded-Proto/-Host",
  },
  {
    key: "authFailureLimit",
    env: "SSE_AUTH_FAILURE_LIMIT",
    flag: "--auth-failure-limit",
    kind: "int",
    default: 20,
    min: 1,
    description: "failed authentications per client address and window before 429",
  },
  {
    key: "authFailureWindowSeconds",
    env: "SSE_AUTH_FAILURE_WINDOW",
    flag: "--auth-failure-window",
    kind: "int",
    default: 60,
    min: 1,
    description: "window of the failure limit, in seconds",
  },
  {
    key: "keyCacheSize",
    env: "SSE_KEY_CACHE_SIZE",
    flag: "--key-cache-size",
    kind: "int",
    default: 10000,
    min: 0,
    description: "unwrapped key-encryption keys kept in memory",
  },
  {
    key: "keyCacheTtlSeconds",
    env: "SSE_KEY_CACHE_TTL",
    flag: "--key-cache-ttl",
    kind: "int",
    default: 300,
    min: 1,
    description: "seconds an unwrapped key-encryption key stays cached",
  },
  {
    key: "metricsToken",
    env: "SSE_METRICS_TOKEN",
    flag: "--metrics-token",
    kind: "string",
    secret: true,
    description:
      "when set, GET /metrics needs this bearer token, from any address (default: /metrics answers only clients on this machine, by their loopback socket address)",
  },
  {
    key: "s3Port",
    env: "SSE_S3_PORT",
    flag: "--s3-port",
    kind: "int",
    default: 9000,
    min: 0,
    max: 65535,
    description: "port of the S3 API, on SSE_HOST (0 turns it off)",
  },
  {
    key: "s3Domain",
    env: "SSE_S3_DOMAIN",
    flag: "--s3-domain",
    kind: "string",
    description: "domain of virtual-hosted-style S3 requests (bucket.DOMAIN); path-style works always",
  },
  {
    key: "s3Region",
    env: "SSE_S3_REGION",
    flag: "--s3-region",
    kind: "string",
    default: "us-east-1",
    description: "the region the S3 API names (requests signed for any region are accepted)",
  },
  {
    key: "s3MultipartTtlSeconds",
    env: "SSE_S3_MULTIPART_TTL",
    flag: "--s3-multipart-ttl",
    kind: "int",
    default: 7 * 24 * 3600,
    min: 60,
    max: 365 * 24 * 3600,
    description:
      "seconds after which an S3 multipart upload never completed is aborted and its parts reclaimed",
  },
  {
    key: "audit",
    env: "SSE_AUDIT",
    flag: "--audit",
    kind: "bool",
    default: true,
    description: "keep the tamper-evident audit log of security-relevant actions (docs/AUDIT.md)",
  },
  {
    key: "auditRequired",
    env: "SSE_AUDIT_REQUIRED",
    flag: "--audit-required",
    kind: "bool",
    description:
      "refuse an action (503 audit_unavailable, nothing changed) when its audit event cannot be written (default: true when NODE_ENV=production, else false)",
  },
  {
    key: "auditReads",
    env: "SSE_AUDIT_READS",
    flag: "--audit-reads",
    kind: "bool",
    default: false,
    description: "also record object reads and link downloads in the audit log",
  },
  {
    key: "auditCheckpointSeconds",
    env: "SSE_AUDIT_CHECKPOINT_SECONDS",
    flag: "--audit-checkpoint-seconds",
    kind: "int",
    default: 300,
    min: 1,
    max: 86400,
    description: "seconds between signed audit checkpoints (one is also written at shutdown)",
  },
  {
    key: "auditExport",
    env: "SSE_AUDIT_EXPORT",
    flag: "--audit-export",
    kind: "string",
    description:
      "file (JSON lines, outside the data directory) that every signed audit checkpoint is also appended to",
  },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * A secret from `<env>_FILE`: the file's text without its final line ending (`echo` and editors add
 * one). Unreadable or empty → ConfigError naming the variable and the path, never the content.
 */
function readSecretFile(spec: SettingSpec, file: string): string {
  const name = fileEnv(spec);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${name}: cannot read ${file} (${code})`);
  }
  const value = text.replace(/\r?\n$/, "");
  if (value === "") throw new ConfigError(`${name}: ${file} is empty`);
  return value;
}

/** The raw text of a setting: its flag, else its variable, else (a secret) the file its `_FILE` names. */
function rawValue(
  spec: SettingSpec,
  env: Record<string, string | undefined>,
  flags: Partial<Record<keyof Config, string>>,
): string | undefined {
  const flag = flags[spec.key];
  if (flag !== undefined) return flag;
  const direct = env[spec.env];
  const file = spec.secret ? env[fileEnv(spec)] : undefined;
  const given = (v: string | undefined): v is string => v !== undefined && v !== "";
  if (given(direct) && given(file)) throw new ConfigError(`set ${spec.env} or ${fileEnv(spec)}, not both`);
  // A provider's own file setting is read by the provider, not here.
  if (given(file) && !spec.fileSetting) return readSecretFile(spec, file);
  return direct;
}

function parseOne(spec: SettingSpec, raw: string): string | number | boolean {
  switch (spec.kind) {
    case "string":
      if (raw === "") throw new ConfigError(`${spec.env} must not be empty`);
      return raw;
    case "int": {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(`${spec.env} must be an integer, got "${spec.secret ? "…" : raw}"`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw new ConfigError(`${spec.env} is out of range`);
      if (spec.min !== undefined && n < spec.min)
        throw new ConfigError(`${spec.env} must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max)
        throw new ConfigError(`${spec.env} must be at most ${spec.max}`);
      return n;
    }
    case "bool":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${spec.env} must be true or false`);
    case "enum": {
      const value = spec.aliases && Object.hasOwn(spec.aliases, raw) ? spec.aliases[raw]! : raw;
      if (!spec.choices?.includes(value))
        throw new ConfigError(`${spec.env} must be one of ${spec.choices?.join(", ")}`);
      return value;
    }
  }
}

/**
 * Builds the frozen Config from an environment map and from already-parsed flags (flag values win).
 * `flags` is keyed by Config key; the CLI turns `--data-dir x` into `{dataDir: "x"}`.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  flags: Partial<Record<keyof Config, string>> = {},
): Config {
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const raw = rawValue(spec, env, flags);
    if (raw === undefined || raw === "") out[spec.key] = spec.default;
    else out[spec.key] = parseOne(spec, raw);
  }
  out.dataDir = path.resolve(out.dataDir as string);
  // Every core by default: one Node process uses one.
  out.workers ??= availableParallelism();
  out.production = env.NODE_ENV === "production";
  if (out.auditRequired === undefined) out.auditRequired = out.production;
  if (out.auditExport !== undefined) out.auditExport = path.resolve(out.auditExport as string);
  const cfg = out as unknown as Config;
  if (cfg.keyProvider === "passphrase" && !cfg.passphrase && !cfg.passphraseFile)
    throw new ConfigError("SSE_KEY_PROVIDER=passphrase needs SSE_PASSPHRASE or SSE_PASSPHRASE_FILE");
  if (cfg.keyProvider === "pkcs11") {
    if (!cfg.pkcs11Module) throw new ConfigError("SSE_KEY_PROVIDER=pkcs11 needs SSE_PKCS11_MODULE");
    if (cfg.pkcs11Slot === undefined && !cfg.pkcs11TokenLabel)
      throw new ConfigError("SSE_KEY_PROVIDER=pkcs11 needs SSE_PKCS11_SLOT or SSE_PKCS11_TOKEN_LABEL");
    if (!cfg.pkcs11Pin && !cfg.pkcs11PinFile)
      throw new ConfigError("SSE_KEY_PROVIDER=pkcs11 needs SSE_PKCS11_PIN or SSE_PKCS11_PIN_FILE");
  }
  // The admin's credential: as hard to guess as an issued token, and presentable as a bearer token.
  if (cfg.bootstrapToken !== undefined && !/^[\x21-\x7e]{32,512}$/.test(cfg.bootstrapToken))
    throw new ConfigError(
      "SSE_BOOTSTRAP_TOKEN must be 32 to 512 printable characters without spaces (e.g. openssl rand -base64 32)",
    );
  if (cfg.databaseUrl && !/^postgres(ql)?:\/\//.test(cfg.databaseUrl))
    throw new ConfigError("SSE_DATABASE_URL must start with postgres://");
  if (cfg.keysDatabaseUrl && !cfg.databaseUrl)
    throw new ConfigError(
      "SSE_KEYS_DATABASE_URL needs SSE_DATABASE_URL (the SQLite store keeps keys in keys.db)",
    );
  if (cfg.keysDatabaseUrl && !/^postgres(ql)?:\/\//.test(cfg.keysDatabaseUrl))
    throw new ConfigError("SSE_KEYS_DATABASE_URL must start with postgres://");
  if (cfg.publicUrl && !/^https?:\/\//.test(cfg.publicUrl))
    throw new ConfigError("SSE_PUBLIC_URL must be an http(s) URL");
  return Object.freeze(cfg);
}
