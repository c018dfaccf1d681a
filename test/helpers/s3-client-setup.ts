// Shared by the real-client S3 tests (aws CLI, s3cmd, boto3): finding a client on this machine (or
// saying clearly that its tests are skipped) and issuing an access key for it over the native API.
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { call } from "./api-client.js";
import type { ServerProcess } from "./server-process.js";

/** Every executable named `name` on PATH, once per real file, in PATH order. */
export function executablesOnPath(name: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      continue;
    }
    const real = realpathSync(file);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(file);
  }
  return out;
}

/** The first line a command prints for `args` (its version), or undefined when it does not run. */
export function versionOf(file: string, args: string[] = ["--version"]): string | undefined {
  const r = spawnSync(file, args, { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return `${r.stdout}\n${r.stderr}`.trim().split("\n")[0];
}

/** Prints the skip notice every suite without its client gives. */
export function announceSkip(what: string, why: string): void {
  console.log(`SKIPPED: ${what} — ${why}`);
}

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A fresh access key of the admin, as a user creates one (POST /users/admin/access-keys). */
export async function issueAccessKey(server: ServerProcess, label: string): Promise<S3Keys> {
  const r = await call(server, "POST", "/users/admin/access-keys", server.token, { label });
  expect(r.status, r.text).toBe(201);
  return { accessKeyId: r.json.accessKeyId, secretAccessKey: r.json.secretAccessKey };
}
