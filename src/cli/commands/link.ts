// `link`: POST /data/{id}/link, an expiring URL that downloads one object without a token.
import type { Command } from "commander";
import type { Link, LinkRequest } from "../../api/objects.js";
import { PATHS } from "../../api/paths.js";
import { positiveInt } from "../args.js";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { objectIdProblem } from "../object-id.js";
import { formatDate } from "../output.js";

export function registerLink(program: Command, ctx: CliContext): void {
  program
    .command("link")
    .description("make an expiring download link for an object; the URL needs no token")
    .argument("<id>", "object id")
    .option(
      "--expires-in <seconds>",
      "lifetime in seconds (server default 3600, at most 7 days, never past your token's expiry)",
      positiveInt,
    )
    .addHelpText(
      "after",
      '\nOnly the URL goes to stdout, so `curl -o report.pdf "$(ssestore link docs/report.pdf)"` works.\n' +
        "Anyone who has the URL can download the object until it expires or the object changes;\n" +
        "revoking the token that made it also ends it.",
    )
    .action(async (id: string, opts: { expiresIn?: number }) => {
      const problem = objectIdProblem(id);
      if (problem) throw usageError(`"${id}" is not a valid object id: ${problem}`);
      const body: LinkRequest = opts.expiresIn === undefined ? {} : { expiresInSeconds: opts.expiresIn };
      const link = await ctx.client().json<Link>(PATHS.objectLink(id), {
        method: "POST",
        json: body,
        notFound: id,
      });
      await ctx.out.result({ id, ...link }, link.url);
      ctx.out.note(`the link to ${id} works without a token until ${formatDate(link.expiresAt)}`);
    });
}
