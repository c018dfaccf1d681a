// Where the client finds its server and token: flag > environment > config file > default.
import fs from "node:fs";
import path from "node:path";
import { CliError, ExitCode } from "./errors.js";

export const DEFAULT_URL = "http://127.0.0.1:8000";

export interface FileSettings {
  url?: string;
  token?: string;
}

export type Source = "flag" | "env" | "file" | "default" | "none";

export interface ClientSettings {
  url: string;
  token: string | undefined;
  source: { url: Source; token: Source };
  /** The config file consulted, if one was read. */
  file?: string;
}

type Env = Record<string, string | undefined>;

/** `SSE_CONFIG`, else `$XDG_CONFIG_HOME/ssestore/config.json`, else `~/.config/ssestore/config.json`. */
export function configFilePath(env: Env, homedir: string): string {
  if (env.SSE_CONFIG) return path.resolve(env.SSE_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(homedir, ".config");
  return path.join(base, "ssestore", "config.json");
}

/** Reads the file; undefined when absent. Refuses a file others can access, since it holds a token. */
export function readConfigFile(file: string): FileSettings | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, ExitCode.usage);
  }
  if (!st.isFile()) throw new CliError(`${file} is not a file`, ExitCode.usage);
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
    throw new CliError(
      `${file} has mode ${mode} but holds a token; refusing to read it until you run: chmod 600 ${file}`,
      ExitCode.usage,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    throw new CliError(`${file} is not valid JSON`, ExitCode.usage);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new CliError(`${file} must hold a JSON object {"url", "token"}`, ExitCode.usage);
  const o = parsed as Record<string, unknown>;
  for (const k of ["url", "token"] as const)
    if (o[k] !== undefined && typeof o[k] !== "string")
      throw new CliError(`${file}: "${k}" must be a string`, ExitCode.usage);
  return { url: o.url as string | undefined, token: o.token as string | undefined };
}

/** Writes atomically with mode 0600; the directory is created 0700. */
export function writeConfigFile(file: string, settings: FileSettings, opts: { ownDir: boolean }): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Only tighten a directory that is ours (the default location), never one SSE_CONFIG points into.
  if (opts.ownDir && process.platform !== "win32") fs.chmodSync(dir, 0o700);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    fs.writeFileSync(fd, `${JSON.stringify(settings, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (process.platform !== "win32") fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export function checkUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(`${what} is not a URL: ${url}`, ExitCode.usage);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new CliError(`${what} must be an http(s) URL: ${url}`, ExitCode.usage);
  return url.replace(/\/+$/, "");
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);

/** Resolves url and token field by field; the file is read only if a field is still missing. */
export function resolveClientSettings(
  flags: { url?: string; token?: string },
  env: Env,
  loadFile: () => { file: string; settings: FileSettings | undefined },
): ClientSettings {
  let url = nonEmpty(flags.url);
  let urlSource: Source = url ? "flag" : "none";
  if (!url && nonEmpty(env.SSE_URL)) {
    url = env.SSE_URL;
    urlSource = "env";
  }
  let token = nonEmpty(flags.token);
  let tokenSource: Source = token ? "flag" : "none";
  if (!token && nonEmpty(env.SSE_TOKEN)) {
    token = env.SSE_TOKEN;
    tokenSource = "env";
  }
  let file: string | undefined;
  if (!url || !token) {
    const loaded = loadFile();
    if (loaded.settings) file = loaded.file;
    if (!url && nonEmpty(loaded.settings?.url)) {
      url = loaded.settings?.url;
      urlSource = "file";
    }
    if (!token && nonEmpty(loaded.settings?.token)) {
      token = loaded.settings?.token;
      tokenSource = "file";
    }
  }
  if (!url) {
    url = DEFAULT_URL;
    urlSource = "default";
  }
  const what = urlSource === "flag" ? "--url" : urlSource === "env" ? "SSE_URL" : `"url" in ${file}`;
  return { url: checkUrl(url, what), token, source: { url: urlSource, token: tokenSource }, file };
}
