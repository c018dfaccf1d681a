// Questions asked on the terminal only: a confirmation line, or a secret read without echo.
import readline from "node:readline";
import type { CliDeps } from "./context.js";
import { CliError } from "./errors.js";

export function canPrompt(deps: CliDeps): boolean {
  return deps.stdin.isTTY === true && deps.stderr.isTTY === true;
}

export async function askLine(deps: CliDeps, question: string): Promise<string> {
  const rl = readline.createInterface({ input: deps.stdin, output: deps.stderr, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
  }
}

/** Reads one line with echo off, so a pasted token never shows on screen or in scrollback. */
export async function askSecret(deps: CliDeps, question: string): Promise<string> {
  const { stdin, stderr } = deps;
  stderr.write(question);
  stdin.setRawMode?.(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (data: Buffer | string) => {
        for (const ch of data.toString("utf8")) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            stdin.removeListener("data", onData);
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            stdin.removeListener("data", onData);
            reject(new CliError("interrupted", 130));
            return;
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    stderr.write("\n");
  }
}

/** All of stdin as text (for a token piped in). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
