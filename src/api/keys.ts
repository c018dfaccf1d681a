// /keys, /users/{name}/key and /admin/root-key: key versions, rotation and retirement.
import { type Static, Type } from "typebox";
import { DateTime, KnownString } from "./fields.js";

export const KeyInfo = Type.Object({
  primaryVersion: Type.Integer({ description: "The version new writes use" }),
  minDecryptionVersion: Type.Integer({ description: "Versions below it were retired and destroyed" }),
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      created: DateTime,
      objects: Type.Integer({ description: "Objects whose data key this version wraps" }),
      accessKeys: Type.Integer({
        description: "S3 access keys whose secret this version wraps (a rewrap moves them too)",
      }),
    }),
  ),
});
export type KeyInfo = Static<typeof KeyInfo>;

export const MinVersionRequest = Type.Object(
  { version: Type.Integer({ minimum: 1, maximum: 0xffffffff }) },
  { additionalProperties: false },
);
export type MinVersionRequest = Static<typeof MinVersionRequest>;

export const RootKeyInfo = Type.Object({
  provider: KnownString(["file", "passphrase", "pkcs11"]),
  primaryVersion: Type.Integer(),
  versions: Type.Array(Type.Integer()),
});
export type RootKeyInfo = Static<typeof RootKeyInfo>;
