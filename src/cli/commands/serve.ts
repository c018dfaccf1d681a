// `serve`: every entry of SETTINGS as a flag; flags win over the environment, then runServer(config).
import { type Command, Option } from "commander";
import { type Config, ConfigError, fileEnv, loadConfig, type SettingSpec } from "../../config.js";
import { SETTINGS } from "../../settings.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode, toCliError } from "../errors.js";

/** The help text of one setting: its env name and default, never a secret's value. */
export function settingHelp(spec: SettingSpec): string {
  if (spec.secret) return `${spec.description} [env ${spec.env} or ${fileEnv(spec)}] (secret)`;
  const def = spec.default !== undefined ? `, default ${String(spec.default)}` : "";
  return `${spec.description} [env ${spec.env}${def}]`;
}

export function settingOption(spec: SettingSpec): Option {
  const opt = new Option(
    spec.kind === "bool" ? `${spec.flag} [bool]` : `${spec.flag} <value>`,
    settingHelp(spec),
  );
  if (spec.kind === "enum" && spec.choices)
    opt.choices([...spec.choices, ...Object.keys(spec.aliases ?? {})]);
  return opt;
}

/** Commander's parsed values → the string map loadConfig takes (a bare boolean flag means "true"). */
export function flagsFromOptions(opts: Record<string, unknown>, options: readonly Option[]) {
  const flags: Partial<Record<keyof Config, string>> = {};
  SETTINGS.forEach((spec, i) => {
    const v = opts[options[i]?.attributeName() ?? ""];
    if (v !== undefined) flags[spec.key] = v === true ? "true" : String(v);
  });
  return flags;
}

export function registerServe(program: Command, ctx: CliContext): void {
  const options = SETTINGS.map(settingOption);
  const cmd = program
    .command("serve")
    .description("run the SSE Store server")
    .addHelpText(
      "after",
      "\nEach flag overrides its environment variable. Give secrets through the environment, or\nbetter as files (SSE_DATABASE_URL_FILE=/run/secrets/db …): flags show in the process list.",
    );
  for (const o of options) cmd.addOption(o);
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: Config;
    try {
      config = loadConfig(ctx.deps.env, flagsFromOptions(opts, options));
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.usage);
      throw err;
    }
    try {
      await ctx.deps.runServer(config);
    } catch (err) {
      if (err instanceof ConfigError || (err as Error)?.name === "ConfigError")
        throw new CliError((err as Error).message, ExitCode.usage);
      throw new CliError(`the server did not start: ${toCliError(err).message}`);
    }
  });
}
