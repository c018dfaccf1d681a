// /users/{name}/access-keys: S3 access keys, the secret only in the answer that creates one.
import { type Static, Type } from "typebox";
import {
  type CredentialLimits,
  credentialGrant,
  credentialInfo,
  credentialParams,
  credentialRequest,
  Label,
} from "./fields.js";

/** `SSEK` and 16 upper-case hex digits (auth/access-key-format.ts makes them; a unit test checks both agree). */
export const AccessKeyId = Type.String({
  pattern: "^SSEK[0-9A-F]{16}$",
  description:
    "The access key id (`SSEK` and 16 upper-case hex digits): public, sent in every SigV4 credential",
});

export const AccessKeyInfo = Type.Object({
  accessKeyId: AccessKeyId,
  ...credentialInfo("Last authenticated S3 request, updated at most once a minute"),
});
export type AccessKeyInfo = Static<typeof AccessKeyInfo>;

export const NewAccessKey = Type.Object({
  accessKeyId: AccessKeyId,
  secretAccessKey: Type.String({
    description:
      "The secret access key (43 characters): shown only in this response; the server keeps it only encrypted under the user's key",
  }),
  label: Label,
  ...credentialGrant,
});
export type NewAccessKey = Static<typeof NewAccessKey>;

export const createAccessKeyRequest = (limits: CredentialLimits) =>
  credentialRequest(limits, {
    scopes:
      "read: GET and HEAD of objects and listings; write: every change. Default: the scopes of the token that asks (at most those)",
    expiresInSeconds:
      "Default: when the token that asks expires, else never. The key cannot outlive the token that asks for it",
  });
export type CreateAccessKeyRequest = Static<ReturnType<typeof createAccessKeyRequest>>;

export const AccessKeyParams = credentialParams("accessKeyId", "Access key id");
