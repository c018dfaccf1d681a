// The table of every setting of the server: its environment name, its CLI flag, its default, its
// bounds and its description (--help prints it). config.ts reads a Config by it.
import { AUDIT_SETTINGS } from "./audit/settings.js";
import type { SettingSpec } from "./config.js";
import { S3_SETTINGS } from "./s3/settings.js";

export const CIPHER_SETTINGS = ["auto", "aes256gcm", "xchacha20poly1305"] as const;
/** SSE_CIPHER: the suite of new writes (crypto/cipher-choice.ts). */
export type CipherSetting = (typeof CIPHER_SETTINGS)[number];

/**
 * SSE_LIBRARY_SHORTCUTS: the places that rely on another library beyond its documented API, each
 * fenced in one module and pinned (README, "Layout"): an operator can turn one off if an upgrade
 * breaks it, and the `internals` bench measures what each buys.
 */
export const LIBRARY_SHORTCUTS = ["request-line", "lazy-logger", "binary-copy"] as const;
export type LibraryShortcut = (typeof LIBRARY_SHORTCUTS)[number];

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
    key: "libraryShortcuts",
    env: "SSE_LIBRARY_SHORTCUTS",
    flag: "--library-shortcuts",
    kind: "list",
    choices: LIBRARY_SHORTCUTS,
    default: "all",
    description:
      "the speed-ups that rely on other libraries' internals: all, none, or a comma list of request-line (pino), lazy-logger (Fastify), binary-copy (node-postgres); turn one off if a library upgrade breaks it (docs/OPERATIONS.md, section Library shortcuts)",
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
  ...S3_SETTINGS,
  ...AUDIT_SETTINGS,
];
