import { AppError } from "../errors.js";

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function validateUserName(name: string): void {
  if (!NAME_RE.test(name))
    throw new AppError(
      "invalid_name",
      "user names are 1-64 characters of a-z 0-9 . _ - and start with a letter or digit",
    );
}
