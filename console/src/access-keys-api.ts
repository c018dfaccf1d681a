// The console's calls for S3 access keys (/users/{name}/access-keys), beside api.ts's.
import type { AccessKeyInfo, CreateAccessKeyRequest, NewAccessKey } from "../../src/api/access-keys.js";
import { PATHS } from "../../src/api/paths.js";
import { call } from "./api.js";

export type { AccessKeyInfo, NewAccessKey };

export const accessKeysApi = {
  list: (name: string) => call<AccessKeyInfo[]>("GET", PATHS.accessKeys(name)),
  create: (name: string, body: CreateAccessKeyRequest) =>
    call<NewAccessKey>("POST", PATHS.accessKeys(name), body),
  revoke: (name: string, id: string) => call<void>("DELETE", PATHS.accessKey(name, id)),
};
