// Argument parsers shared by commands; they throw commander's InvalidArgumentError, which exits 2.
import { InvalidArgumentError } from "commander";

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

export function scopeList(value: string): string[] {
  const scopes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new InvalidArgumentError("give at least one scope, e.g. read,write");
  for (const s of scopes)
    if (!/^[a-z][a-z0-9_:.-]*$/.test(s)) throw new InvalidArgumentError(`"${s}" is not a scope name`);
  return [...new Set(scopes)];
}
