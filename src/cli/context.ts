// What every command gets: the process's streams and environment (injectable for tests), the global
// options, and a lazily configured API client.
import os from "node:os";
import type { Config } from "../config.js";
import { ApiClient } from "./client.js";
import { type ClientSettings, configFilePath, readConfigFile, resolveClientSettings } from "./config-file.js";
import type { TokenOrigin } from "./errors.js";
import { Output } from "./output.js";
import { nodeUpload, type UploadFn } from "./upload.js";

export interface WritableLike {
  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
  once(event: "drain" | "error", listener: (...args: unknown[]) => void): unknown;
  removeListener(event: "drain" | "error", listener: (...args: unknown[]) => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface RunningServer {
  close(): Promise<unknown>;
}

export interface CliDeps {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream & WritableLike;
  stderr: NodeJS.WritableStream & WritableLike;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  homedir: string;
  fetch: typeof fetch;
  /** Streaming PUT bodies (fetch would hold them in memory). */
  upload: UploadFn;
  /** Loads and starts the server; replaced in tests so `serve` flag parsing runs without one. */
  runServer: (config: Config) => Promise<RunningServer>;
  /** Milliseconds between job polls (tests shorten it). */
  pollIntervalMs: number;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
  progress?: boolean;
}

export function defaultDeps(): CliDeps {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    homedir: os.homedir(),
    fetch: globalThis.fetch,
    upload: nodeUpload,
    async runServer(config) {
      // Imported on demand so client commands never load the server's dependencies.
      const server = await import("../main.js");
      return server.serve(config);
    },
    pollIntervalMs: 1000,
  };
}

export class CliContext {
  #settingsCache: ClientSettings | undefined;
  #clientCache: ApiClient | undefined;

  readonly #globals: () => GlobalOptions;

  constructor(
    readonly deps: CliDeps,
    globals: () => GlobalOptions,
  ) {
    this.#globals = globals;
  }

  get json(): boolean {
    return this.#globals().json === true;
  }

  get out(): Output {
    return new Output(this.deps, this.json);
  }

  /** Progress bars go to stderr, only when it is a terminal and --no-progress is absent. */
  get showProgress(): boolean {
    return this.deps.stderr.isTTY === true && this.#globals().progress !== false;
  }

  get configFile(): string {
    return configFilePath(this.deps.env, this.deps.homedir);
  }

  settings(): ClientSettings {
    if (!this.#settingsCache) {
      const g = this.#globals();
      this.#settingsCache = resolveClientSettings({ url: g.url, token: g.token }, this.deps.env, () => ({
        file: this.configFile,
        settings: readConfigFile(this.configFile),
      }));
    }
    return this.#settingsCache;
  }

  client(): ApiClient {
    if (!this.#clientCache) {
      const s = this.settings();
      const origin: TokenOrigin =
        s.source.token === "file"
          ? { source: "file", file: s.file }
          : { source: s.source.token === "default" ? "none" : s.source.token };
      this.#clientCache = new ApiClient(s.url, s.token, this.deps.fetch, this.deps.upload, origin);
    }
    return this.#clientCache;
  }
}
