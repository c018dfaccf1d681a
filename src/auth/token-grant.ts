// What a credential request (a token, an S3 access key) is granted: its scopes, expiry and label,
// checked. Whoever issues one can never exceed the token it authenticates with, neither in scopes
// nor in lifetime.
import { hasControlCharacter } from "../control-characters.js";
import { AppError } from "../errors.js";
import type { Scope, TokenRecord } from "../store/records.js";

export const ALL_SCOPES: readonly Scope[] = ["read", "write"];
/** Ten years: long enough for any service account, short enough to stay a number of seconds. */
export const MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;
export const MAX_LABEL_LENGTH = 128;

export interface TokenRequest {
  label?: string | null;
  scopes?: readonly string[];
  expiresInSeconds?: number;
}

export interface TokenGrant {
  label: string | null;
  scopes: Scope[];
  expiresAt: Date | null;
}

/**
 * Checks a request and decides the grant. `ceiling` is the caller's own token when the caller
 * issues a token to itself: the new token then gets at most its scopes (by default exactly them)
 * and expires no later than it (by default with it).
 */
export function grantToken(
  req: TokenRequest,
  now: Date,
  ceiling: TokenRecord | null = null,
  /** What is being issued, as the refusals name it. */
  kind: "token" | "access key" = "token",
): TokenGrant {
  const aKind = kind === "token" ? "a token" : "an access key";
  const label = req.label ?? null;
  if (
    label !== null &&
    (typeof label !== "string" || label.length > MAX_LABEL_LENGTH || hasControlCharacter(label))
  )
    throw new AppError(
      "validation_error",
      `label must be at most ${MAX_LABEL_LENGTH} characters, without control characters`,
    );

  let scopes: Scope[];
  if (req.scopes === undefined)
    scopes = ceiling ? ALL_SCOPES.filter((s) => ceiling.scopes.includes(s)) : [...ALL_SCOPES];
  else {
    if (req.scopes.length === 0)
      throw new AppError("validation_error", "scopes must name at least one of read, write");
    for (const s of req.scopes)
      if (!(ALL_SCOPES as readonly string[]).includes(s))
        throw new AppError("validation_error", `unknown scope ${JSON.stringify(s)}`);
    scopes = ALL_SCOPES.filter((s) => req.scopes?.includes(s));
    const beyond = ceiling ? scopes.filter((s) => !ceiling.scopes.includes(s)) : [];
    if (beyond.length > 0)
      throw new AppError(
        "forbidden",
        `a token cannot create ${aKind} with more scopes than its own (${beyond.join(", ")})`,
      );
  }

  let expiresAt: Date | null = null;
  if (req.expiresInSeconds !== undefined) {
    const s = req.expiresInSeconds;
    if (!Number.isSafeInteger(s) || s < 1 || s > MAX_TOKEN_LIFETIME_SECONDS)
      throw new AppError(
        "validation_error",
        `expiresInSeconds must be an integer from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`,
      );
    expiresAt = new Date(now.getTime() + s * 1000);
  }
  const limit = ceiling?.expiresAt ?? null;
  if (limit) {
    if (expiresAt === null) expiresAt = new Date(limit.getTime());
    else if (expiresAt.getTime() > limit.getTime())
      throw new AppError("forbidden", `a token cannot create ${aKind} that outlives it`);
  }
  return { label, scopes, expiresAt };
}
