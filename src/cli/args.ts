// Argument parsers shared by commands; they throw commander's InvalidArgumentError, which exits 2.
import { InvalidArgumentError } from "commander";
import { SCOPES, type Scope } from "../api/fields.js";

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError("must be a non-negative integer");
  return Number(value);
}

const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** `read`, `write` or `read,write`: the scopes the API knows, refused here before any request. */
export function scopeList(value: string): Scope[] {
  const scopes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new InvalidArgumentError("give at least one scope, e.g. read,write");
  const known = scopes.filter(isScope);
  const unknown = scopes.find((s) => !isScope(s));
  if (unknown !== undefined)
    throw new InvalidArgumentError(`"${unknown}" is not a scope name (known: ${SCOPES.join(", ")})`);
  return [...new Set(known)];
}
