// The authenticated caller of a request: a user and the token it presented.
import type { TokenRecord, UserRecord } from "../store/store.js";

export interface Principal {
  user: UserRecord;
  token: TokenRecord;
}
