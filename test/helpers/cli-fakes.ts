// In-process fakes for CLI tests: captured stdout/stderr, a scripted fetch, and a runner around main().
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import type { CliDeps } from "../../src/cli/context.js";
import { main } from "../../src/cli/main.js";
import type { UploadFn } from "../../src/cli/upload.js";

export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: Buffer;
}

export type Handler = (req: Recorded) => Response | Promise<Response>;

export function fakeFetch(handler: Handler) {
  const calls: Recorded[] = [];
  const fn = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body =
      init.body === undefined || init.body === null
        ? Buffer.alloc(0)
        : Buffer.from(await new Response(init.body).arrayBuffer());
    const rec: Recorded = {
      method: init.method ?? "GET",
      url: new URL(String(input)),
      headers: new Headers(init.headers),
      body,
    };
    calls.push(rec);
    return handler(rec);
  };
  return { fetch: fn as typeof fetch, calls };
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

export const problem = (status: number, code: string, detail: string) =>
  new Response(
    JSON.stringify({ type: "about:blank", title: code, status, detail, code, requestId: "req-1" }),
    {
      status,
      headers: { "content-type": "application/problem+json" },
    },
  );

function sink() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  return { stream, text: () => Buffer.concat(chunks).toString("utf8"), bytes: () => Buffer.concat(chunks) };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export function tempHome(): string {
  return mkdtempSync(path.join(os.tmpdir(), "sse-cli-unit-"));
}

export async function runCli(
  args: string[],
  opts: {
    fetch?: typeof fetch;
    env?: Record<string, string | undefined>;
    stdin?: Buffer;
    deps?: Partial<CliDeps>;
  } = {},
): Promise<RunResult> {
  const out = sink();
  const err = sink();
  const stdin = Readable.from(opts.stdin ? [opts.stdin] : []) as Readable & { isTTY?: boolean };
  const fetchFn = opts.fetch ?? (fakeFetch(() => new Response(null, { status: 500 })).fetch as typeof fetch);
  // Streaming uploads reach the same scripted fetch, with the body collected.
  const upload: UploadFn = async (url, init) => {
    const chunks: Buffer[] = [];
    for await (const c of init.body) chunks.push(Buffer.from(c as Buffer));
    return fetchFn(url, { method: init.method, headers: init.headers, body: Buffer.concat(chunks) });
  };
  const code = await main(args, {
    env: { SSE_URL: "http://sse.test", SSE_TOKEN: "sse_unit", ...opts.env },
    stdout: out.stream as CliDeps["stdout"],
    stderr: err.stream as CliDeps["stderr"],
    stdin: stdin as CliDeps["stdin"],
    homedir: tempHome(),
    fetch: fetchFn,
    upload,
    pollIntervalMs: 5,
    ...opts.deps,
  });
  return { code, stdout: out.text(), stderr: err.text(), stdoutBytes: out.bytes() };
}
