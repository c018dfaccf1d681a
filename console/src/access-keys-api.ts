// The console's calls for S3 access keys (/users/{name}/access-keys), beside api.ts's.
import { call } from "./api.js";

export interface AccessKeyInfo {
  accessKeyId: string;
  label?: string | null;
  scopes: string[];
  created?: string;
  lastUsed?: string | null;
  expiresAt?: string | null;
  issuedBy?: string | null;
}

export interface NewAccessKey {
  accessKeyId: string;
  /** Shown once, in the dialog that follows creation; never kept by the console. */
  secretAccessKey: string;
  label?: string | null;
  scopes: string[];
  expiresAt: string | null;
  issuedBy?: string | null;
}

const seg = encodeURIComponent;

export const accessKeysApi = {
  list: (name: string) => call<AccessKeyInfo[]>("GET", `/users/${seg(name)}/access-keys`),
  create: (name: string, body: { label?: string; scopes: string[]; expiresInSeconds?: number }) =>
    call<NewAccessKey>("POST", `/users/${seg(name)}/access-keys`, body),
  revoke: (name: string, id: string) => call<void>("DELETE", `/users/${seg(name)}/access-keys/${seg(id)}`),
};
