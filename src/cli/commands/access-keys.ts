// `access-keys create|ls|rm` on /users/{name}/access-keys: S3 access keys, yours by default or a
// user's with --user (admin, for creation only while the user is enrolling).
import type { Command } from "commander";
import type { AccessKeyInfo, CreateAccessKeyRequest, NewAccessKey } from "../../api/access-keys.js";
import type { Scope } from "../../api/fields.js";
import { PATHS } from "../../api/paths.js";
import { positiveInt, scopeList } from "../args.js";
import type { CliContext } from "../context.js";
import { formatDate, table } from "../output.js";
import { userOrSelf } from "./tokens.js";
import { listOf } from "./users.js";

export function registerAccessKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command("access-keys")
    .description("manage S3 access keys (yours, or any user's as admin)");

  keys
    .command("create")
    .description("create an S3 access key; its id and secret are printed once, on stdout")
    .option("--user <name>", "for this user (admin, while the user is enrolling; default: you)")
    .option("--label <text>", "a label to recognise the key by")
    .option("--scopes <list>", "comma-separated scopes, e.g. read or read,write", scopeList)
    .option("--expires-in <seconds>", "lifetime in seconds (default: that of your token)", positiveInt)
    .action(async (opts: { user?: string; label?: string; scopes?: Scope[]; expiresIn?: number }) => {
      const user = await userOrSelf(ctx, opts.user);
      const body: CreateAccessKeyRequest = {};
      if (opts.label !== undefined) body.label = opts.label;
      if (opts.scopes !== undefined) body.scopes = opts.scopes;
      if (opts.expiresIn !== undefined) body.expiresInSeconds = opts.expiresIn;
      const created = await ctx.client().json<NewAccessKey>(PATHS.accessKeys(user), {
        method: "POST",
        json: body,
        notFound: `user ${user}`,
      });
      // As the AWS tools name them, so that `export $(ssestore access-keys create)` sets both.
      await ctx.out.result({ user, ...created }, [
        `AWS_ACCESS_KEY_ID=${created.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${created.secretAccessKey}`,
      ]);
      ctx.out.note(
        `access key ${created.accessKeyId} for ${user}: scopes ${created.scopes?.join(",") ?? "-"}, expires ${
          created.expiresAt ? formatDate(created.expiresAt) : "never"
        }; the secret is shown only this once`,
      );
    });

  keys
    .command("ls")
    .description("list S3 access keys (never their secret)")
    .option("--user <name>", "of this user (admin; default: you)")
    .action(async (opts: { user?: string }) => {
      const user = await userOrSelf(ctx, opts.user);
      const list = listOf<AccessKeyInfo>(
        await ctx.client().json(PATHS.accessKeys(user), { notFound: `user ${user}` }),
        "accessKeys",
      );
      await ctx.out.result(list, () =>
        table(
          list.map((k) => [
            k.accessKeyId,
            k.label ?? "-",
            k.scopes?.join(",") ?? "-",
            formatDate(k.created),
            formatDate(k.lastUsed),
            k.expiresAt ? formatDate(k.expiresAt) : "never",
            k.issuedBy ?? "-",
          ]),
          ["ACCESS KEY ID", "LABEL", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "ISSUED BY"],
        ),
      );
    });

  keys
    .command("rm")
    .alias("revoke")
    .description("revoke an S3 access key at once")
    .argument("<id>", "access key id (from access-keys ls)")
    .option("--user <name>", "of this user (admin; default: you)")
    .action(async (id: string, opts: { user?: string }) => {
      const user = await userOrSelf(ctx, opts.user);
      await ctx.client().request(PATHS.accessKey(user, id), {
        method: "DELETE",
        notFound: `access key ${id} of user ${user}`,
      });
      await ctx.out.result({ accessKeyId: id, user, revoked: true }, `revoked access key ${id}`);
    });
}
