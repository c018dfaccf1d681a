// /users/{name}/tokens and /users/{name}/reset: bearer tokens, the secret only in the answer that
// issues one.
import { type Static, Type } from "typebox";
import {
  type CredentialLimits,
  credentialGrant,
  credentialInfo,
  credentialParams,
  credentialRequest,
  Label,
} from "./fields.js";

export const TokenInfo = Type.Object({
  id: Type.String({ description: "Public id of the token (part of the token string); revoke by it" }),
  ...credentialInfo("Last successful use, updated at most once a minute"),
});
export type TokenInfo = Static<typeof TokenInfo>;

export const NewToken = Type.Object({
  id: Type.String(),
  token: Type.String({ description: "The bearer token `sse_…`; shown only in this response" }),
  label: Type.Optional(Label),
  ...credentialGrant,
});
export type NewToken = Static<typeof NewToken>;

/** POST /users/{name}/reset: the one new enrollment token, and how many credentials went. */
export const ResetToken = Type.Object({
  ...NewToken.properties,
  revoked: Type.Integer({ description: "How many credentials the reset revoked" }),
});
export type ResetToken = Static<typeof ResetToken>;

/** POST /users/{name}/tokens and /reset. */
export const createTokenRequest = (limits: CredentialLimits) =>
  credentialRequest(limits, {
    scopes:
      "Default: read and write. A user issuing a token to itself gets at most the scopes of the token it uses (and that by default)",
    expiresInSeconds:
      "Default: never. A user issuing a token to itself cannot outlive the token it uses (and expires with it by default)",
  });
export type CreateTokenRequest = Static<ReturnType<typeof createTokenRequest>>;

export const TokenParams = credentialParams("id", "Token id");
