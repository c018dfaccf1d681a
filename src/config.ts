// The frozen Config and how it is read: settings.ts lists every setting (its name, flag, default
// and bounds); `loadConfig` is the only place that turns strings into a Config, validated (reading
// the files that secrets' `<NAME>_FILE` variables name).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { type CipherSetting, type LibraryShortcut, SETTINGS } from "./settings.js";

export type KeyProviderName = "file" | "passphrase" | "pkcs11";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export type LogFormat = "auto" | "json" | "pretty";

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
  /** The shortcuts through other libraries' internals that the server may take (SSE_LIBRARY_SHORTCUTS). */
  readonly libraryShortcuts: readonly LibraryShortcut[];
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

type Kind = "string" | "int" | "bool" | "enum" | "list";

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

function parseOne(spec: SettingSpec, raw: string): string | number | boolean | readonly string[] {
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
    case "list":
      return parseList(spec, raw);
    case "enum": {
      const value = spec.aliases && Object.hasOwn(spec.aliases, raw) ? spec.aliases[raw]! : raw;
      if (!spec.choices?.includes(value))
        throw new ConfigError(`${spec.env} must be one of ${spec.choices?.join(", ")}`);
      return value;
    }
  }
}

/** A list setting: `all` (every choice), `none`, or some of its choices separated by commas. */
function parseList(spec: SettingSpec, raw: string): readonly string[] {
  const text = raw.trim().toLowerCase();
  if (text === "all") return [...(spec.choices ?? [])];
  if (text === "none") return [];
  const words = text.split(",").map((w) => w.trim());
  for (const w of words)
    if (!spec.choices?.includes(w))
      throw new ConfigError(`${spec.env} must be all, none, or a comma list of ${spec.choices?.join(", ")}`);
  return [...new Set(words)];
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
    if (raw !== undefined && raw !== "") out[spec.key] = parseOne(spec, raw);
    else if (spec.kind === "list") out[spec.key] = parseList(spec, String(spec.default));
    else out[spec.key] = spec.default;
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
