// `put`: stream a file (or stdin) to PUT /data/{id}, with Content-Length and a Content-Digest for files.

import fs from "node:fs";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import type { Command } from "commander";
import type { ObjectInfo } from "../../api/objects.js";
import { PATHS } from "../../api/paths.js";
import { formatBytes } from "../../api/size-format.js";
import type { ApiClient } from "../client.js";
import { guessContentType } from "../content-type.js";
import type { CliContext } from "../context.js";
import { contentDigest, sha256File } from "../digest.js";
import { CliError, ExitCode, usageError } from "../errors.js";
import { objectIdProblem } from "../object-id.js";
import { transferProgress } from "../progress.js";

interface PutOptions {
  contentType?: string;
  ifNoneMatch?: boolean;
  ifMatch?: string;
  digest: boolean;
}

/** What a PUT answered: the object's metadata, or at least its id when the body was unreadable. */
export type StoredObject = Partial<ObjectInfo> & { id: ObjectInfo["id"] };

/** The answer a HEAD gives about an upload to come: unreachable server, bad token, failed condition. */
export async function preflight(
  client: ApiClient,
  id: string,
  opts: Pick<PutOptions, "ifNoneMatch" | "ifMatch">,
): Promise<void> {
  // 403: the token may write without reading; the PUT itself will tell.
  const res = await client.request(PATHS.object(id), { method: "HEAD", accept: [403, 404] });
  if (res.status === 403) return;
  const exists = res.status !== 404;
  if (opts.ifNoneMatch && exists) throw new CliError(`${id} already exists`, ExitCode.generic);
  if (opts.ifMatch !== undefined) {
    if (!exists) throw new CliError(`${id} does not exist, so --if-match cannot match`, ExitCode.generic);
    const etag = res.headers.get("etag");
    const wanted = opts.ifMatch.split(",").map((t) => t.trim());
    // An item has no ETag, and a malformed tag earns a clearer 400 from the PUT: the server decides.
    const comparable = etag && wanted.every((t) => t === "*" || /^"[^"]*"$/.test(t));
    if (comparable && !wanted.includes("*") && !wanted.includes(etag))
      throw new CliError(`${id} has changed (ETag mismatch)`, ExitCode.generic);
  }
}

export function registerPut(program: Command, ctx: CliContext): void {
  program
    .command("put")
    .description("upload a file, or stdin with -, as an object")
    .argument("<file>", "file to upload, or - for stdin")
    .argument("[id]", "object id (default: the file's name; required with -)")
    .option("--content-type <type>", "Content-Type to store (default: guessed from the extension)")
    .option("--if-none-match", "fail if the object already exists (If-None-Match: *)")
    .option("--if-match <etag>", "replace only if the current ETag matches")
    .option("--no-digest", "skip the SHA-256 pass over the file (no Content-Digest header)")
    .addHelpText(
      "after",
      "\nA file is read twice: once for its SHA-256 (sent as Content-Digest, checked by the server), once to upload.\n" +
        "Before the first pass a HEAD request checks that the server answers, the token works, and\n" +
        "--if-none-match / --if-match hold.",
    )
    .action(async (file: string, idArg: string | undefined, opts: PutOptions) => {
      const fromStdin = file === "-";
      if (fromStdin && !idArg) throw usageError("put - (stdin) needs an id: ssestore put - <id>");
      const id = idArg ?? path.basename(file);
      const problem = objectIdProblem(id);
      if (problem) {
        const hint = idArg ? "" : "; give an id as the second argument";
        throw usageError(`"${id}" is not a valid object id: ${problem}${hint}`);
      }
      let size: number | undefined;
      if (!fromStdin) {
        const st = fs.statSync(file);
        if (!st.isFile()) throw new CliError(`${file} is not a regular file`, ExitCode.usage);
        size = st.size;
      }
      const headers: Record<string, string> = {
        "content-type": opts.contentType ?? guessContentType(fromStdin ? id : file),
      };
      if (opts.ifNoneMatch) headers["if-none-match"] = "*";
      if (opts.ifMatch) headers["if-match"] = opts.ifMatch;
      if (size !== undefined) {
        headers["content-length"] = String(size);
        if (opts.digest && size > 0) {
          // The hash pass reads the whole file (minutes for gigabytes): first make sure the PUT
          // that follows can succeed at all.
          await preflight(ctx.client(), id, opts);
          const bar = transferProgress(ctx.showProgress && size > 0, ctx.deps.stderr, "hashing  ", size);
          try {
            headers["content-digest"] = contentDigest(await sha256File(file, (n) => bar.add(n)));
          } finally {
            bar.stop();
          }
        }
      }
      const stdin = ctx.deps.stdin;
      const source: Readable = fromStdin
        ? stdin instanceof Readable
          ? stdin
          : Readable.from(stdin)
        : fs.createReadStream(file);
      const bar = transferProgress(ctx.showProgress, ctx.deps.stderr, "uploading", size);
      const counted = source.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bar.add(chunk.length);
            cb(null, chunk);
          },
        }),
      );
      source.on("error", (err) => counted.destroy(err));
      let res: Response;
      try {
        res = await ctx.client().request(PATHS.object(id), {
          method: "PUT",
          headers,
          body: counted,
          preconditionFailed: opts.ifNoneMatch ? `${id} already exists` : `${id} has changed (ETag mismatch)`,
          digestMismatch: `the server received other bytes than ${file} held when hashed (did it change during the upload?)`,
        });
      } finally {
        bar.stop();
        if (!fromStdin) source.destroy();
      }
      const text = await res.text();
      let stored: StoredObject = { id };
      try {
        stored = { id, ...(JSON.parse(text) as object) };
      } catch {
        // the status alone tells success; the body only adds details
      }
      const created = res.status === 201;
      await ctx.out.result({ ...stored, created }, () => {
        const parts = [stored.size !== undefined ? formatBytes(stored.size) : undefined];
        if (stored.keyVersion !== undefined) parts.push(`key version ${stored.keyVersion}`);
        if (stored.etag) parts.push(`etag ${stored.etag}`);
        const info = parts.filter(Boolean).join(", ");
        return `${created ? "created" : "replaced"} ${id}${info ? ` (${info})` : ""}`;
      });
    });
}
