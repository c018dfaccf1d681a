// The authenticated caller of a request: a user and the token it presented.
import type { TokenRecord, UserRecord } from "../store/records.js";

export interface Principal {
  user: UserRecord;
  token: TokenRecord;
}
