// /users and /me: users as the API shows them (never a secret), and the caller itself.
import { type Static, Type } from "typebox";
import { DateTime, NullableDateTime, Role, Scopes } from "./fields.js";

export const User = Type.Object({
  name: Type.String(),
  role: Role,
  created: DateTime,
  enrolled: Type.Boolean({
    description:
      "False while the user is enrolling (created or reset, and no credential of its own used yet): only then may an admin issue its credentials",
  }),
});
export type User = Static<typeof User>;

export const CreateUserRequest = Type.Object(
  {
    name: Type.String({
      description:
        "1-64 characters of a-z 0-9 . _ -, starting with a letter or digit (otherwise 400 invalid_name)",
    }),
    role: Role,
  },
  { additionalProperties: false },
);
export type CreateUserRequest = Static<typeof CreateUserRequest>;

export const Me = Type.Object({
  name: Type.String(),
  role: Role,
  token: Type.Object({ id: Type.String(), scopes: Scopes, expiresAt: NullableDateTime }),
});
export type Me = Static<typeof Me>;
