// `keys show|rotate|rewrap|min-version` (own keys, or a user's with --user as admin) and `root-key rotate`.
import type { Command } from "commander";
import type { KeyInfo, MinVersionRequest } from "../../api/keys.js";
import { keyPaths, PATHS } from "../../api/paths.js";
import { nonNegativeInt } from "../args.js";
import type { CliContext } from "../context.js";
import { formatDate, table } from "../output.js";
import { startJob } from "./jobs.js";

function describeKeys(k: KeyInfo | undefined, who: string): string[] {
  if (!k) return [`${who}: done`];
  const lines = [
    `${who}: primary version ${k.primaryVersion ?? "?"}, minimum decryption version ${k.minDecryptionVersion ?? "?"}`,
  ];
  if (k.versions?.length)
    lines.push(
      ...table(
        k.versions.map((v) => [
          String(v.version),
          formatDate(v.created),
          v.objects !== undefined ? String(v.objects) : "-",
          v.accessKeys !== undefined ? String(v.accessKeys) : "-",
        ]),
        ["VERSION", "CREATED", "OBJECTS", "ACCESS KEYS"],
      ),
    );
  return lines;
}

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command("keys")
    .description("your key-encryption key, or a user's with --user (admin)");
  const who = (user?: string) => (user ? `key of ${user}` : "your key");
  const notFound = (user?: string) => (user ? `user ${user}` : undefined);

  keys
    .command("show")
    .description("versions of the key and how many objects and S3 access keys each wraps")
    .option("--user <name>", "this user's key (admin)")
    .action(async (opts: { user?: string }) => {
      const k = await ctx.client().json<KeyInfo>(keyPaths(opts.user).show, { notFound: notFound(opts.user) });
      await ctx.out.result(k, () => describeKeys(k, who(opts.user)));
    });

  keys
    .command("rotate")
    .description("add a new primary version; new writes use it, old versions still decrypt")
    .option("--user <name>", "this user's key (admin)")
    .action(async (opts: { user?: string }) => {
      const k = await ctx.client().json<KeyInfo>(keyPaths(opts.user).rotate, {
        method: "POST",
        json: {},
        notFound: notFound(opts.user),
      });
      await ctx.out.result(k ?? { rotated: true }, () =>
        k?.primaryVersion !== undefined
          ? `rotated ${who(opts.user)}: primary version is now ${k.primaryVersion}`
          : `rotated ${who(opts.user)}`,
      );
    });

  keys
    .command("rewrap")
    .description("rewrap every data key to the primary version (a background job; data is not re-encrypted)")
    .option("--user <name>", "this user's key (admin)")
    .option("--wait", "wait for the job to finish, with a progress bar")
    .action(async (opts: { user?: string; wait?: boolean }) => {
      await startJob(ctx, keyPaths(opts.user).rewrap, "rewrap", {
        wait: opts.wait,
        notFound: notFound(opts.user),
      });
    });

  keys
    .command("min-version")
    .description("retire key versions below <version>: they can no longer decrypt")
    .argument("<version>", "the lowest version that may still decrypt", nonNegativeInt)
    .option("--user <name>", "this user's key (admin)")
    .action(async (version: number, opts: { user?: string }) => {
      const body: MinVersionRequest = { version };
      const k = await ctx.client().json<KeyInfo>(keyPaths(opts.user).minVersion, {
        method: "POST",
        json: body,
        notFound: notFound(opts.user),
        conflictHint: `run "ssestore keys rewrap --wait${opts.user ? ` --user ${opts.user}` : ""}" first`,
      });
      await ctx.out.result(
        k ?? { minDecryptionVersion: version },
        `${who(opts.user)}: minimum decryption version is now ${version}`,
      );
    });

  const rootKey = program.command("root-key").description("the root key held by the key provider (admin)");
  rootKey
    .command("rotate")
    .description("create a new root key version and rewrap every key-encryption key (a background job)")
    .option("--wait", "wait for the job to finish, with a progress bar")
    .action(async (opts: { wait?: boolean }) => {
      await startJob(ctx, PATHS.rootRotate, "root key rotation", { wait: opts.wait });
    });
}
