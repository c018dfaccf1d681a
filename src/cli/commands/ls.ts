// `ls`, `stat`, `rm`: the folder view of GET /objects (metadata included, a page at a time), DELETE.
import type { Command } from "commander";
import { FOLDER_PAGE_LIMIT, type FolderPage, type ListedObject } from "../../api/objects.js";
import { PATHS } from "../../api/paths.js";
import { formatBytes } from "../../api/size-format.js";
import { positiveInt } from "../args.js";
import type { ApiClient } from "../client.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode, usageError } from "../errors.js";
import { formatDate, table } from "../output.js";

/** GET /objects answers at most this many entries a page. */
const MAX_PAGE_SIZE = FOLDER_PAGE_LIMIT.max;

/** Yields the pages of GET /objects under `prefix`, folded into folders unless `recursive`. */
export async function* listFolder(
  client: ApiClient,
  opts: { prefix: string; recursive: boolean; pageSize: number },
): AsyncGenerator<FolderPage> {
  let cursor: string | undefined;
  do {
    const page = await client.json<FolderPage>(PATHS.objects, {
      query: {
        prefix: opts.prefix || undefined,
        delimiter: opts.recursive ? undefined : "/",
        limit: opts.pageSize,
        cursor,
      },
    });
    if (!page || !Array.isArray(page.objects) || !Array.isArray(page.folders))
      throw new CliError("GET /objects did not answer a folder listing");
    yield page;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
}

/** One object's metadata from the listing (it comes first under its own id as a prefix, nearly always). */
export async function findObject(client: ApiClient, id: string): Promise<ListedObject> {
  for await (const page of listFolder(client, { prefix: id, recursive: true, pageSize: 100 })) {
    const hit = page.objects.find((o) => String(o.id) === id);
    if (hit) return hit;
  }
  throw new CliError(`${id} not found`, ExitCode.notFound, { status: 404, code: "not_found" });
}

const LONG_HEADER = ["SIZE", "TYPE", "MODIFIED", "ID"] as const;

function longRow(e: ListedObject | string): string[] {
  if (typeof e === "string") return ["-", "folder", "-", e];
  const type = e.kind === "item" ? "item" : (e.contentType.split(";")[0]?.trim() ?? "");
  return [formatBytes(e.size), type || "-", formatDate(e.modified), String(e.id)];
}

/** Columns that only widen from page to page, so a listing of many pages stays aligned. */
class Columns {
  readonly #widths: number[] = [];
  format(rows: readonly (readonly string[])[]): string[] {
    for (const r of rows) {
      r.forEach((c, i) => {
        this.#widths[i] = Math.max(this.#widths[i] ?? 0, c.length);
      });
    }
    return table(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(this.#widths[i] ?? 0)))));
  }
}

interface LsOptions {
  prefix?: string;
  long?: boolean;
  recursive?: boolean;
  limit?: number;
  pageSize?: number;
}

export function registerLs(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("list your objects under a prefix, folded into folders (every page)")
    .argument("[prefix]", "only ids starting with this, e.g. docs/ (default: every id)")
    .option("-r, --recursive", "every id under the prefix, no folders")
    .option("-l, --long", "with a header row: size, type and modification time (from the listing)")
    .option("--prefix <p>", "the same as the prefix argument")
    .option("--limit <n>", "stop after n entries", positiveInt)
    .option("--page-size <n>", `entries per request (default and most: ${MAX_PAGE_SIZE})`, positiveInt)
    .addHelpText(
      "after",
      "\nAs `aws s3 ls`: ids with a further / after the prefix show as one folder (docs/2024/), unless\n" +
        "--recursive. Folders end in /. With --json: an array of ids and folders, or with --long of\n" +
        'objects as GET /objects describes them and {"folder": "…/"} entries.',
    )
    .action(async (prefixArg: string | undefined, opts: LsOptions) => {
      if (prefixArg !== undefined && opts.prefix !== undefined && prefixArg !== opts.prefix)
        throw usageError("give the prefix either as the argument or with --prefix, not both");
      if (opts.pageSize !== undefined && opts.pageSize > MAX_PAGE_SIZE)
        throw usageError(`--page-size must be at most ${MAX_PAGE_SIZE}`);
      const client = ctx.client();
      const out = ctx.out;
      const prefix = prefixArg ?? opts.prefix ?? "";
      const limit = opts.limit ?? Number.POSITIVE_INFINITY;
      const pageSize = Math.min(limit, opts.pageSize ?? MAX_PAGE_SIZE);
      const columns = new Columns();
      let shown = 0;
      let first = true;
      for await (const page of listFolder(client, { prefix, recursive: opts.recursive === true, pageSize })) {
        // Folders first in each page, as S3 lists its common prefixes.
        const entries: (string | ListedObject)[] = [...page.folders, ...page.objects].slice(0, limit - shown);
        shown += entries.length;
        if (out.json) {
          // "[" only after the first page arrived, so a failed listing prints no half document.
          for (const e of entries) {
            const value = opts.long
              ? typeof e === "string"
                ? { folder: e }
                : e
              : typeof e === "string"
                ? e
                : e.id;
            await out.write(`${first ? "[" : ","}${JSON.stringify(value)}`);
            first = false;
          }
        } else if (opts.long) {
          const rows = entries.map(longRow);
          const lines = columns.format(first ? [LONG_HEADER, ...rows] : rows);
          first = false;
          if (lines.length) await out.write(`${lines.join("\n")}\n`);
        } else if (entries.length) {
          await out.write(`${entries.map((e) => (typeof e === "string" ? e : String(e.id))).join("\n")}\n`);
        }
        if (shown >= limit) break;
      }
      if (out.json) await out.write(first ? "[]\n" : "]\n");
      else if (opts.long && first) await out.write(`${columns.format([LONG_HEADER]).join("\n")}\n`);
    });

  program
    .command("stat")
    .description("show an object's size, type, etag, times and key version")
    .argument("<id>", "object id")
    .action(async (id: string) => {
      const info = await findObject(ctx.client(), id);
      await ctx.out.result(info, () =>
        table([
          ["id", String(info.id)],
          ["kind", info.kind ?? "blob"],
          ["size", `${info.size} (${formatBytes(info.size)})`],
          ["type", info.contentType],
          ["etag", info.etag],
          ["created", formatDate(info.created)],
          ["modified", formatDate(info.modified)],
          ["keyVersion", String(info.keyVersion)],
        ]),
      );
    });

  program
    .command("rm")
    .description("delete an object")
    .argument("<id>", "object id")
    .action(async (id: string) => {
      await ctx.client().request(PATHS.object(id), { method: "DELETE", notFound: id });
      await ctx.out.result({ id, deleted: true }, `deleted ${id}`);
    });
}
