// `users create|ls|rm`: the admin's user management (POST/GET/DELETE /users).
import type { Command } from "commander";
import type { Scope } from "../../api/fields.js";
import { PATHS } from "../../api/paths.js";
import type { CreateTokenRequest, ResetToken } from "../../api/tokens.js";
import type { CreateUserRequest, User } from "../../api/users.js";
import { positiveInt, scopeList } from "../args.js";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { formatDate, table } from "../output.js";
import { askLine, canPrompt } from "../prompt.js";

/** A list answer may be a bare array or wrapped ({users: [...]}, {items: [...]}). */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    for (const k of [key, "items", "data"]) if (Array.isArray(o[k])) return o[k] as T[];
  }
  return [];
}

export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command("users").description("manage users (admin)");

  users
    .command("create")
    .description("create a user")
    .argument("<name>", "user name")
    .option("--admin", "give the user the admin role")
    .action(async (name: string, opts: { admin?: boolean }) => {
      const role = opts.admin ? "admin" : "user";
      const body: CreateUserRequest = { name, role };
      const user = await ctx.client().json<User>(PATHS.users, { method: "POST", json: body });
      await ctx.out.result(user ?? { name, role }, `created user ${name} (${user?.role ?? role})`);
    });

  users
    .command("ls")
    .description("list users")
    .action(async () => {
      const list = listOf<User>(await ctx.client().json(PATHS.users), "users");
      await ctx.out.result(list, () =>
        table(
          list.map((u) => [
            u.name,
            u.role ?? "-",
            u.enrolled === false ? "enrolling" : u.enrolled === true ? "enrolled" : "-",
            formatDate(u.created),
          ]),
          ["NAME", "ROLE", "STATUS", "CREATED"],
        ),
      );
    });

  users
    .command("reset")
    .description(
      "revoke every credential of a user at once and issue one new enrollment token (admin); the token is printed once, on stdout",
    )
    .argument("<name>", "user name")
    .option("--label <text>", "a label for the new token")
    .option(
      "--scopes <list>",
      "comma-separated scopes of the new token (default: those of your token)",
      scopeList,
    )
    .option("--expires-in <seconds>", "lifetime of the new token in seconds", positiveInt)
    .option("-y, --yes", "do not ask for confirmation")
    .action(
      async (name: string, opts: { label?: string; scopes?: Scope[]; expiresIn?: number; yes?: boolean }) => {
        if (!opts.yes) {
          if (!canPrompt(ctx.deps))
            throw usageError(
              `resetting user ${name} revokes all of its tokens and access keys; add --yes to confirm`,
            );
          const answer = await askLine(
            ctx.deps,
            `Revoke every token and access key of ${name} and issue one new token? Type the name to confirm: `,
          );
          if (answer.trim() !== name) throw usageError("not confirmed; nothing revoked");
        }
        const body: CreateTokenRequest = {};
        if (opts.label !== undefined) body.label = opts.label;
        if (opts.scopes !== undefined) body.scopes = opts.scopes;
        if (opts.expiresIn !== undefined) body.expiresInSeconds = opts.expiresIn;
        const reset = await ctx.client().json<ResetToken>(PATHS.userReset(name), {
          method: "POST",
          json: body,
          notFound: `user ${name}`,
        });
        // Only the token on stdout, as `tokens create` does.
        await ctx.out.result({ user: name, ...reset }, reset.token);
        ctx.out.note(
          `reset ${name}: ${reset.revoked ?? 0} credential(s) revoked; new token ${reset.id}, shown only this once`,
        );
      },
    );

  users
    .command("rm")
    .description("delete a user with its tokens and objects, and destroy its keys (irreversible)")
    .argument("<name>", "user name")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (name: string, opts: { yes?: boolean }) => {
      if (!opts.yes) {
        if (!canPrompt(ctx.deps))
          throw usageError(
            `deleting user ${name} destroys its keys and objects for good; add --yes to confirm`,
          );
        const answer = await askLine(
          ctx.deps,
          `Delete user ${name}, its tokens and objects, and destroy its keys? Type the name to confirm: `,
        );
        if (answer.trim() !== name) throw usageError("not confirmed; nothing deleted");
      }
      await ctx.client().request(PATHS.user(name), { method: "DELETE", notFound: `user ${name}` });
      await ctx.out.result({ name, deleted: true }, `deleted user ${name}`);
    });
}
