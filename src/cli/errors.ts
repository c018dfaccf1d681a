// How every failure becomes one line on stderr and an exit code; pure, so the mapping is unit-tested.
import type { Problem as ApiProblem } from "../api/problem.js";

export const ExitCode = {
  ok: 0,
  generic: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  integrity: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  code?: string;
  status?: number;
  requestId?: string;
}

export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.generic,
    readonly details: ErrorDetails = {},
  ) {
    super(oneLine(message));
  }
}

export const usageError = (message: string) => new CliError(message, ExitCode.usage);

/** A problem document (src/api/problem.ts) as read from any answer: every field may be missing, any code new. */
export type Problem = Partial<Omit<ApiProblem, "code">> & { code?: string };

export interface ResponseContext {
  /** What a 404 names, e.g. the object id or `user bob`; without it the server's detail is shown. */
  notFound?: string;
  /** Message for 412 (If-None-Match / If-Match). */
  preconditionFailed?: string;
  /** Message for a 400 digest_mismatch. */
  digestMismatch?: string;
  /** Hint appended to a 409 key_version_in_use. */
  conflictHint?: string;
  /** Where the request's token came from, so that a 401 says which one to fix. */
  token?: TokenOrigin;
}

/** flag: --token; env: SSE_TOKEN; file: the config file `login` writes; none: no token at all; login: the one being checked. */
export type TokenOrigin =
  | { source: "flag" | "env" | "none" | "login" }
  | { source: "file"; file: string | undefined };

const STALE = "is wrong, expired or revoked";

/** A 401 in words that name the token's origin and the way out. */
export function unauthorizedMessage(origin: TokenOrigin | undefined): string {
  switch (origin?.source) {
    case "none":
      return "no token: set SSE_TOKEN, pass --token, or save one with `ssestore login`";
    case "flag":
      return `the token given with --token ${STALE}; \`ssestore login --token …\` checks and saves a working one`;
    case "env":
      return `the token in SSE_TOKEN ${STALE}; set a working one, or unset SSE_TOKEN to use the one \`ssestore login\` saved`;
    case "file":
      return `the token saved in ${origin.file ?? "the config file"} ${STALE}; run \`ssestore login\` to replace it`;
    case "login":
      return `this token ${STALE}: nothing was saved`;
    default:
      return "the token is missing or wrong: set SSE_TOKEN, pass --token, or run `ssestore login`";
  }
}

/** Server text may hold anything; the contract is one readable line. */
export function oneLine(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? " " : ch;
  }
  return out.replace(/\s+/g, " ").trim();
}

export function parseProblem(body: string): Problem | undefined {
  if (!body) return undefined;
  try {
    const v: unknown = JSON.parse(body);
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    const o = v as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
    return {
      type: str("type"),
      title: str("title"),
      status: typeof o.status === "number" ? o.status : undefined,
      detail: str("detail") ?? str("message"),
      code: str("code"),
      requestId: str("requestId"),
    };
  } catch {
    return undefined;
  }
}

function describe(problem: Problem | undefined, status: number, statusText: string): string {
  const text = problem?.detail || problem?.title || `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
  return problem?.code ? `${text} (${problem.code})` : text;
}

/** Maps a non-2xx answer to the one line and exit code the user sees. */
export function errorFromResponse(
  status: number,
  problem: Problem | undefined,
  ctx: ResponseContext = {},
  extra: { statusText?: string; retryAfter?: string | null; requestId?: string | null } = {},
): CliError {
  const details: ErrorDetails = {
    status,
    code: problem?.code,
    requestId: problem?.requestId ?? extra.requestId ?? undefined,
  };
  const generic = describe(problem, status, extra.statusText ?? "");
  if (status === 401) return new CliError(unauthorizedMessage(ctx.token), ExitCode.auth, details);
  if (status === 403) {
    const why = problem?.detail ? `: ${problem.detail}` : "";
    return new CliError(`the token lacks the scope or role this needs${why}`, ExitCode.auth, details);
  }
  if (status === 429) {
    const wait = extra.retryAfter ? `; retry in ${extra.retryAfter} s` : "";
    return new CliError(`too many failed authentications from this address${wait}`, ExitCode.auth, details);
  }
  if (status === 404) {
    return new CliError(ctx.notFound ? `${ctx.notFound} not found` : generic, ExitCode.notFound, details);
  }
  if (status === 412 && ctx.preconditionFailed)
    return new CliError(ctx.preconditionFailed, ExitCode.generic, details);
  if (problem?.code === "digest_mismatch")
    return new CliError(ctx.digestMismatch ?? generic, ExitCode.integrity, details);
  if (problem?.code === "integrity_error") return new CliError(generic, ExitCode.integrity, details);
  if (status === 409 && problem?.code === "key_version_in_use" && ctx.conflictHint)
    return new CliError(`${generic}; ${ctx.conflictHint}`, ExitCode.generic, details);
  return new CliError(generic, ExitCode.generic, details);
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** fetch() rejects with a bare "fetch failed"; the useful part is the cause's code. */
export function networkError(err: unknown, url: string): CliError {
  if (err instanceof CliError) return err;
  const code = causeCode(err);
  if (code && UNREACHABLE.has(code)) return new CliError(`cannot reach ${url}`, ExitCode.generic, { code });
  const msg = err instanceof Error ? err.message : String(err);
  return new CliError(`request to ${url} failed: ${code ?? msg}`, ExitCode.generic, { code });
}

/** Anything thrown that is not a CliError: a bug or an I/O failure; still one line. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const code = causeCode(err);
  const e = err as { message?: string; path?: string; syscall?: string };
  if (code === "ENOENT" && e.path) return new CliError(`${e.path}: no such file or directory`);
  if (code === "EACCES" && e.path) return new CliError(`${e.path}: permission denied`);
  if (code === "EISDIR" && e.path) return new CliError(`${e.path}: is a directory`);
  return new CliError(typeof e?.message === "string" ? e.message : String(err));
}
