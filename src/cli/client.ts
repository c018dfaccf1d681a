// The HTTP client of API.md: bearer auth, JSON bodies, and every non-2xx turned into one CliError.
import type { Readable } from "node:stream";
import {
  CliError,
  errorFromResponse,
  networkError,
  parseProblem,
  type ResponseContext,
  type TokenOrigin,
} from "./errors.js";
import { nodeUpload, type UploadFn } from "./upload.js";

export interface RequestOptions extends ResponseContext {
  method?: string;
  query?: Record<string, string | number | undefined>;
  /** Sent as application/json. */
  json?: unknown;
  /** A Node stream is sent by the streaming uploader; strings and bytes go through fetch. */
  body?: Readable | string | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Non-2xx statuses that are answers rather than errors (e.g. 304). */
  accept?: number[];
}

export class ApiClient {
  readonly #fetchImpl: typeof fetch;
  readonly #uploadImpl: UploadFn;

  constructor(
    readonly baseUrl: string,
    readonly token: string | undefined,
    fetchImpl: typeof fetch = globalThis.fetch,
    uploadImpl: UploadFn = nodeUpload,
    /** Where `token` came from: a 401 names it. */
    readonly tokenOrigin?: TokenOrigin,
  ) {
    this.#fetchImpl = fetchImpl;
    this.#uploadImpl = uploadImpl;
  }

  url(pathOrUrl: string, query?: RequestOptions["query"]): URL {
    // A base URL may carry a path prefix (behind a proxy), so API paths are appended, not resolved.
    const u = /^https?:\/\//i.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(this.baseUrl + pathOrUrl);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /** Same origin as the configured server: the only place the token may be sent. */
  sameOrigin(u: URL): boolean {
    return u.origin === new URL(this.baseUrl).origin;
  }

  /** Sends the request; resolves only with 2xx (or an `accept`ed status), else throws a CliError. */
  async request(pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(pathOrUrl, opts.query);
    if (!this.sameOrigin(url))
      throw new CliError(`refusing to follow a link to another server: ${url.origin}`);
    const headers = new Headers(opts.headers);
    if (this.token) headers.set("authorization", `Bearer ${this.token}`);
    let body: RequestOptions["body"];
    if (opts.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(opts.json);
    } else body = opts.body;
    const method = opts.method ?? "GET";
    let res: Response;
    try {
      if (body !== undefined && typeof body === "object" && !(body instanceof Uint8Array))
        res = await this.#uploadImpl(url, { method, headers, body, signal: opts.signal });
      else
        res = await this.#fetchImpl(url, {
          method,
          headers,
          signal: opts.signal,
          body: body as BodyInit | undefined,
        });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw networkError(err, this.baseUrl);
    }
    if (res.ok || opts.accept?.includes(res.status)) return res;
    throw await this.errorOf(res, opts);
  }

  async errorOf(res: Response, ctx: ResponseContext): Promise<CliError> {
    let text = "";
    try {
      text = await res.text();
    } catch {
      // the body is only a nicer message; the status alone still maps to an error
    }
    return errorFromResponse(
      res.status,
      parseProblem(text),
      { token: this.tokenOrigin, ...ctx },
      {
        statusText: res.statusText,
        retryAfter: res.headers.get("retry-after"),
        requestId: res.headers.get("x-request-id"),
      },
    );
  }

  /** JSON answer of a request; an empty body (204) gives undefined. */
  async json<T = unknown>(pathOrUrl: string, opts: RequestOptions = {}): Promise<T> {
    const headers = { accept: "application/json", ...opts.headers };
    const res = await this.request(pathOrUrl, { ...opts, headers });
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the server at ${this.baseUrl} sent a response that is not JSON`);
    }
  }
}

/** Parses `Link: <…>; rel="next"`; undefined when there is no next page. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) continue;
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2] ?? "");
    if (rel?.[1]?.split(/\s+/).includes("next")) return m[1];
  }
  return undefined;
}
