// The refusal both adapters give when an admin issues a credential to a user that has enrolled.
import { AppError } from "../errors.js";

export const enrolledError = (): AppError =>
  new AppError("enrolled", "the user has enrolled: only the user itself issues its credentials now");
