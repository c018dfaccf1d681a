// `whoami` (GET /me) and `login` (saves url and token to the config file after checking them).
import path from "node:path";
import type { Command } from "commander";
import { PATHS } from "../../api/paths.js";
import type { Me } from "../../api/users.js";
import { ApiClient } from "../client.js";
import { checkUrl, configFilePath, DEFAULT_URL, writeConfigFile } from "../config-file.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { usageError } from "../errors.js";
import { formatDate } from "../output.js";
import { askSecret, canPrompt, readAll } from "../prompt.js";

export const fetchMe = (client: ApiClient) => client.json<Me>(PATHS.me);

function describeMe(me: Me, url: string): string {
  const t = me.token;
  const scopes = t?.scopes?.length ? t.scopes.join(",") : "-";
  const expires = t?.expiresAt ? formatDate(t.expiresAt) : "never";
  return `${me.name} (${me.role ?? "?"}) at ${url}; token ${t?.id ?? "?"}, scopes ${scopes}, expires ${expires}`;
}

export function registerWhoami(program: Command, ctx: CliContext, globals: () => GlobalOptions): void {
  program
    .command("whoami")
    .description("show the user and token the CLI acts as")
    .action(async () => {
      const client = ctx.client();
      const me = await fetchMe(client);
      await ctx.out.result(me, describeMe(me, client.baseUrl));
    });

  program
    .command("login")
    .description("save the server URL and token to the config file (mode 0600)")
    .option("--no-check", "save without checking the token against the server")
    .addHelpText(
      "after",
      "\nUses the global --url and --token (or SSE_URL / SSE_TOKEN); without a token it reads one from stdin,\n" +
        "hidden when stdin is a terminal. The file is $SSE_CONFIG or ~/.config/ssestore/config.json.",
    )
    .action(async (opts: { check: boolean }) => {
      const g = globals();
      const env = ctx.deps.env;
      const url = checkUrl(g.url || env.SSE_URL || DEFAULT_URL, g.url ? "--url" : "SSE_URL");
      let token = g.token || env.SSE_TOKEN;
      if (!token) {
        token = canPrompt(ctx.deps)
          ? await askSecret(ctx.deps, "token: ")
          : (await readAll(ctx.deps.stdin)).split(/\r?\n/)[0];
        token = token?.trim();
      }
      if (!token) throw usageError("no token given: use --token, SSE_TOKEN or type it when asked");
      let me: Me | undefined;
      if (opts.check)
        me = await fetchMe(new ApiClient(url, token, ctx.deps.fetch, undefined, { source: "login" }));
      const file = configFilePath(env, ctx.deps.homedir);
      const ownDir = !env.SSE_CONFIG && path.basename(path.dirname(file)) === "ssestore";
      writeConfigFile(file, { url, token }, { ownDir });
      await ctx.out.result(
        { url, file, user: me?.name, role: me?.role },
        me ? `saved ${file}: ${me.name} (${me.role ?? "?"}) at ${url}` : `saved ${file} (not checked)`,
      );
    });
}
