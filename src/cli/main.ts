// The `ssestore` program: global options, every command, and the one place errors become exit codes.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { registerAccessKeys } from "./commands/access-keys.js";
import { registerAudit } from "./commands/audit.js";
import { registerGet } from "./commands/get.js";
import { registerJobs } from "./commands/jobs.js";
import { registerKeys } from "./commands/keys.js";
import { registerLink } from "./commands/link.js";
import { registerLs } from "./commands/ls.js";
import { registerPut } from "./commands/put.js";
import { registerServe } from "./commands/serve.js";
import { registerTokens } from "./commands/tokens.js";
import { registerUsers } from "./commands/users.js";
import { registerWhoami } from "./commands/whoami.js";
import { DEFAULT_URL } from "./config-file.js";
import { CliContext, type CliDeps, defaultDeps, type GlobalOptions } from "./context.js";
import { CliError, ExitCode, toCliError } from "./errors.js";

function packageVersion(): string {
  try {
    // Same relative path from src/cli/ and from dist/cli/.
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function buildProgram(deps: CliDeps): Command {
  const program = new Command("ssestore");
  const globals = () => program.opts<GlobalOptions>();
  const ctx = new CliContext(deps, globals);
  program
    .description("SSE Store: run the server, or use one as a client")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--url <url>", `server URL [env SSE_URL, then the config file, default ${DEFAULT_URL}]`)
    .option(
      "--token <token>",
      "API token [env SSE_TOKEN, then the config file]; prefer the env: flags show in ps",
    )
    .option("--json", "print machine-readable JSON on stdout (errors as JSON on stderr)")
    .option("--no-progress", "never show progress bars (they appear only when stderr is a terminal)")
    .showSuggestionAfterError(true)
    // Settings set before .command() are inherited by every subcommand.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
      outputError: () => {},
    })
    .addHelpText(
      "after",
      "\nClient commands read the server URL and token from --url/--token, SSE_URL/SSE_TOKEN, or the file\n" +
        "written by `ssestore login` ($SSE_CONFIG or ~/.config/ssestore/config.json), in that order.\n" +
        "Exit codes: 0 ok, 1 error, 2 usage or configuration, 3 not found, 4 authentication, 5 damaged data.",
    );
  registerServe(program, ctx);
  registerWhoami(program, ctx, globals);
  registerPut(program, ctx);
  registerGet(program, ctx);
  registerLs(program, ctx);
  registerLink(program, ctx);
  registerUsers(program, ctx);
  registerTokens(program, ctx);
  registerAccessKeys(program, ctx);
  registerKeys(program, ctx);
  registerJobs(program, ctx);
  registerAudit(program, ctx);
  return program;
}

function printError(deps: CliDeps, err: CliError, json: boolean): void {
  if (json) {
    const { code, status, requestId } = err.details;
    deps.stderr.write(
      `${JSON.stringify({ error: { message: err.message, exitCode: err.exitCode, code, status, requestId } })}\n`,
    );
  } else deps.stderr.write(`error: ${err.message}\n`);
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], overrides: Partial<CliDeps> = {}): Promise<number> {
  const deps: CliDeps = { ...defaultDeps(), ...overrides };
  const program = buildProgram(deps);
  const json = () => program.opts<GlobalOptions>().json === true || argv.includes("--json");
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.ok;
      // With help shown for a missing subcommand the message is just "(outputHelp)".
      if (err.code !== "commander.help" && err.code !== "commander.helpDisplayed") {
        printError(deps, new CliError(err.message.replace(/^error:\s*/, ""), ExitCode.usage), json());
      }
      return ExitCode.usage;
    }
    // A closed pipe (`ssestore ls | head`) is the reader's choice, not an error.
    if ((err as NodeJS.ErrnoException)?.code === "EPIPE") return ExitCode.ok;
    const e = toCliError(err);
    if (deps.env.SSE_CLI_DEBUG && err instanceof Error) deps.stderr.write(`${err.stack}\n`);
    printError(deps, e, json());
    return e.exitCode;
  }
}

/** Entry point for bin/ssestore.js and for `tsx src/cli/main.ts`. */
export async function run(): Promise<void> {
  // A closed pipe (`ssestore get x | head`) is the reader's choice, not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await run();
