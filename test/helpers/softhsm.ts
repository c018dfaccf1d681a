// A throwaway SoftHSM2 token in a temp dir, for the PKCS#11 tests (in-process and end-to-end).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && existsSync(path.join(dir, cmd)));
}

export const softhsmAvailable: boolean = existsSync(SOFTHSM_MODULE) && onPath("softhsm2-util");

export interface SoftHsmToken {
  module: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** Path of the softhsm2.conf naming the token dir; also set as SOFTHSM2_CONF in process.env. */
  conf: string;
  /** Environment for a child process that must see this token (SOFTHSM2_CONF). */
  env: Record<string, string>;
  /** Removes the token dir and restores SOFTHSM2_CONF. */
  cleanup(): void;
}

export function createSoftHsmToken(
  opts: { label?: string; pin?: string; soPin?: string } = {},
): SoftHsmToken {
  const tokenLabel = opts.label ?? "sse-test";
  const pin = opts.pin ?? "1234";
  const soPin = opts.soPin ?? "5678";
  const dir = mkdtempSync(path.join(os.tmpdir(), "sse-softhsm-"));
  const tokens = path.join(dir, "tokens");
  mkdirSync(tokens, { mode: 0o700 });
  const conf = path.join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { SOFTHSM2_CONF: conf };
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", tokenLabel, "--pin", pin, "--so-pin", soPin],
    { env: { ...process.env, ...env }, stdio: "pipe" },
  );
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  return {
    module: SOFTHSM_MODULE,
    tokenLabel,
    pin,
    soPin,
    conf,
    env,
    cleanup() {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
