// The schemas the OpenAPI document names (components/schemas): answers and bodies a client meets
// on more than one route, or wants to generate a type for.
import type { TSchema } from "typebox";
import { AccessKeyInfo, NewAccessKey } from "./access-keys.js";
import { AuditPage, AuditPublicKey } from "./audit.js";
import { Job, JobAccepted } from "./jobs.js";
import { KeyInfo, MinVersionRequest, RootKeyInfo } from "./keys.js";
import { CreateItemRequest, FolderPage, Item, Link, ListedObject, ObjectInfo } from "./objects.js";
import { Problem } from "./problem.js";
import { Ready } from "./system.js";
import { NewToken, ResetToken, TokenInfo } from "./tokens.js";
import { CreateUserRequest, Me, User } from "./users.js";

export const NAMED_SCHEMAS: Readonly<Record<string, TSchema>> = {
  Problem,
  ObjectInfo,
  ListedObject,
  FolderPage,
  CreateItemRequest,
  Item,
  Link,
  User,
  CreateUserRequest,
  Me,
  TokenInfo,
  NewToken,
  ResetToken,
  AccessKeyInfo,
  NewAccessKey,
  KeyInfo,
  MinVersionRequest,
  RootKeyInfo,
  Job,
  JobAccepted,
  Ready,
  AuditPage,
  AuditPublicKey,
};
