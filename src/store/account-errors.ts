// The refusals both adapters' account ports give, worded once: the contract suite holds them to it.
import { AppError } from "../errors.js";

/** An admin issuing a credential to a user that has enrolled. */
export const enrolledError = (): AppError =>
  new AppError("enrolled", "the user has enrolled: only the user itself issues its credentials now");

export const userNameTaken = (): AppError =>
  new AppError("user_exists", "a user with this name already exists");

export const uidTaken = (): AppError => new AppError("conflict", "a user with this uid already exists");

export const userMissing = (): AppError => new AppError("not_found", "the user does not exist");

/** A credential (`what`: token, access key) whose id is already taken. */
export const credentialIdTaken = (what: string): AppError =>
  new AppError("conflict", `${what} id already exists`);
