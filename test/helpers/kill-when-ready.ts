// A crash at a known point: runs a TypeScript script in a process of its own (node itself with tsx
// as a loader, so that SIGKILL reaches the process holding the work, not a wrapper), waits until it
// prints "ready", then kills it with SIGKILL.
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export async function killWhenReady(script: string): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("ready")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
