// `get`: stream GET /data/{id} to stdout or to a file, written as <file>.part and renamed when complete.

import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { PATHS } from "../../api/paths.js";
import { formatBytes } from "../../api/size-format.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { writeWithBackpressure } from "../output.js";
import { transferProgress } from "../progress.js";

interface GetOptions {
  output?: string;
}

/** Where -o writes: into a directory under the id's last segment, else the path itself. */
export function destinationFor(output: string, id: string): string {
  try {
    if (fs.statSync(output).isDirectory()) return path.join(output, id.split("/").pop() ?? id);
  } catch {
    // does not exist yet: the path is the file to create
  }
  return output;
}

function cutShort(id: string, got: number, total: number | undefined): CliError {
  const of = total !== undefined ? ` of ${total}` : "";
  return new CliError(
    `the download of ${id} ended early after ${got}${of} bytes (the server aborts a response whose stored data fails authentication)`,
    ExitCode.integrity,
  );
}

export function registerGet(program: Command, ctx: CliContext): void {
  program
    .command("get")
    .description("download an object to stdout, or to a file with -o")
    .argument("<id>", "object id")
    .option("-o, --output <file>", "write to this file (or into this directory) instead of stdout")
    .addHelpText(
      "after",
      "\nWith -o the data lands in <file>.part first and is renamed once complete; --json then prints a summary.\n" +
        "Without -o, stdout carries the object's bytes (and --json adds nothing to it).",
    )
    .action(async (id: string, opts: GetOptions) => {
      const abort = new AbortController();
      const onSigint = () => abort.abort(new CliError("interrupted", 130));
      process.once("SIGINT", onSigint);
      try {
        await download(ctx, id, opts, abort.signal);
      } finally {
        process.removeListener("SIGINT", onSigint);
      }
    });
}

async function download(ctx: CliContext, id: string, opts: GetOptions, signal: AbortSignal): Promise<void> {
  const res = await ctx.client().request(PATHS.object(id), { notFound: id, signal });
  const lengthHeader = res.headers.get("content-length");
  const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const toStdout = opts.output === undefined || opts.output === "-";
  const bar = transferProgress(ctx.showProgress, ctx.deps.stderr, "downloading", total);
  let got = 0;
  const count = (n: number) => {
    got += n;
    bar.add(n);
  };
  const body = res.body;
  if (toStdout) {
    try {
      if (body) {
        for await (const chunk of body) {
          if (signal.aborted) throw signal.reason;
          count(chunk.byteLength);
          await writeWithBackpressure(ctx.deps.stdout, chunk);
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if ((err as NodeJS.ErrnoException).code === "EPIPE") throw err;
      throw cutShort(id, got, total);
    } finally {
      bar.stop();
    }
    if (total !== undefined && got !== total) throw cutShort(id, got, total);
    return;
  }

  const dest = destinationFor(opts.output as string, id);
  const part = `${dest}.part`;
  let ok = false;
  try {
    // Decrypted data: readable by its owner only until they decide otherwise.
    // Opened synchronously, so the file exists before any failure and the cleanup below removes it.
    const file = fs.createWriteStream(part, { fd: fs.openSync(part, "w", 0o600) });
    try {
      // Counting where bytes leave the network, so the "after N bytes" of an error is exact.
      await pipeline(
        async function* () {
          if (!body) return;
          for await (const chunk of body) {
            count(chunk.byteLength);
            yield chunk;
          }
        },
        file,
        { signal },
      );
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = (err as NodeJS.ErrnoException).code;
      if (code && /^E[A-Z]+$/.test(code) && (err as NodeJS.ErrnoException).path) throw err;
      throw cutShort(id, got, total);
    }
    if (total !== undefined && got !== total) throw cutShort(id, got, total);
    fs.renameSync(part, dest);
    ok = true;
  } finally {
    bar.stop();
    if (!ok) fs.rmSync(part, { force: true });
  }
  await ctx.out.result(
    {
      id,
      file: dest,
      size: got,
      contentType: res.headers.get("content-type") ?? undefined,
      etag: res.headers.get("etag") ?? undefined,
    },
    `saved ${id} to ${dest} (${formatBytes(got)})`,
  );
}
