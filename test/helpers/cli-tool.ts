// Runs a real command-line client (rclone, restic…) for the S3 tests: an environment built from
// scratch so the machine's own configuration (AWS_*, RCLONE_*, RESTIC_*, proxies, CA bundles) never
// leaks in, its output captured, and a deadline after which it is killed.
import { spawn } from "node:child_process";

export interface ToolResult {
  code: number | null;
  stdout: string;
  /** stdout as bytes (for a command that prints a file). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Variables of the machine that would change how an S3 client behaves. */
const CLIENT_VARIABLES = /^(AWS_|RCLONE_|RESTIC_|S3_|HTTPS?_PROXY$|NO_PROXY$|ALL_PROXY$)/i;

/** The test process's environment without client settings, plus `env`. */
export function toolEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !CLIENT_VARIABLES.test(k) && !k.startsWith("SSE_")) out[k] = v;
  return { ...out, ...env };
}

export function runTool(
  file: string,
  args: readonly string[],
  opts: { env: Record<string, string>; cwd?: string; timeoutMs?: number; stdin?: Buffer },
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(file, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out.push(d);
    });
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    if (opts.stdin) proc.stdin?.end(opts.stdin);
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${file} ${args.join(" ")} ran past ${opts.timeoutMs} ms:\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    proc.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString("utf8"), stdoutBytes, stderr });
    });
  });
}
