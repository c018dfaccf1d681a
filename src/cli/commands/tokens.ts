// `tokens create|ls|revoke` on /users/{name}/tokens; the user defaults to the caller (GET /me).
import type { Command } from "commander";
import type { Scope } from "../../api/fields.js";
import { PATHS } from "../../api/paths.js";
import type { CreateTokenRequest, NewToken, TokenInfo } from "../../api/tokens.js";
import { positiveInt, scopeList } from "../args.js";
import type { CliContext } from "../context.js";
import { formatDate, table } from "../output.js";
import { listOf } from "./users.js";
import { fetchMe } from "./whoami.js";

/** The named user, or the caller (GET /me) when none is named. */
export async function userOrSelf(ctx: CliContext, user: string | undefined): Promise<string> {
  return user ?? (await fetchMe(ctx.client())).name;
}

export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program.command("tokens").description("manage API tokens (yours, or any user's as admin)");

  tokens
    .command("create")
    .description("create a token; it is printed once, on stdout")
    .option("--user <name>", "for this user (admin, while the user is enrolling; default: you)")
    .option("--label <text>", "a label to recognise the token by")
    .option("--scopes <list>", "comma-separated scopes, e.g. read or read,write", scopeList)
    .option("--expires-in <seconds>", "lifetime in seconds (default: no expiry)", positiveInt)
    .action(async (opts: { user?: string; label?: string; scopes?: Scope[]; expiresIn?: number }) => {
      const user = await userOrSelf(ctx, opts.user);
      const body: CreateTokenRequest = {};
      if (opts.label !== undefined) body.label = opts.label;
      if (opts.scopes !== undefined) body.scopes = opts.scopes;
      if (opts.expiresIn !== undefined) body.expiresInSeconds = opts.expiresIn;
      const created = await ctx.client().json<NewToken>(PATHS.tokens(user), {
        method: "POST",
        json: body,
        notFound: `user ${user}`,
      });
      // Only the token on stdout, so `TOKEN=$(ssestore tokens create)` works; the rest is a note.
      await ctx.out.result({ user, ...created }, created.token);
      ctx.out.note(
        `token ${created.id} for ${user}: scopes ${created.scopes?.join(",") ?? "-"}, expires ${
          created.expiresAt ? formatDate(created.expiresAt) : "never"
        }; it is shown only this once`,
      );
    });

  tokens
    .command("ls")
    .description("list tokens (never their secret)")
    .option("--user <name>", "of this user (admin; default: you)")
    .action(async (opts: { user?: string }) => {
      const user = await userOrSelf(ctx, opts.user);
      const list = listOf<TokenInfo>(
        await ctx.client().json(PATHS.tokens(user), { notFound: `user ${user}` }),
        "tokens",
      );
      await ctx.out.result(list, () =>
        table(
          list.map((t) => [
            t.id,
            t.label ?? "-",
            t.scopes?.join(",") ?? "-",
            formatDate(t.created),
            formatDate(t.lastUsed),
            t.expiresAt ? formatDate(t.expiresAt) : "never",
            t.issuedBy ?? "-",
          ]),
          ["ID", "LABEL", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "ISSUED BY"],
        ),
      );
    });

  tokens
    .command("revoke")
    .description("revoke a token at once")
    .argument("<id>", "token id (from tokens ls)")
    .option("--user <name>", "of this user (admin; default: you)")
    .action(async (id: string, opts: { user?: string }) => {
      const user = await userOrSelf(ctx, opts.user);
      await ctx.client().request(PATHS.token(user, id), {
        method: "DELETE",
        notFound: `token ${id} of user ${user}`,
      });
      await ctx.out.result({ id, user, revoked: true }, `revoked token ${id}`);
    });
}
