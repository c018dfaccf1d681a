// `ls`, `stat`, `rm`: listing pages of GET /data, HEAD for metadata, DELETE.
import type { Command } from "commander";
import { formatBytes } from "../../api/size-format.js";
import { positiveInt } from "../args.js";
import { type ApiClient, nextLink, objectPath } from "../client.js";
import type { CliContext } from "../context.js";
import { formatDate, table } from "../output.js";

export interface ObjectInfo {
  id: string | number;
  size?: number;
  contentType?: string;
  etag?: string;
  modified?: string;
  keyVersion?: number | string;
}

/** GET /data answers at most this many ids a page (API.md default). */
const PAGE_SIZE = 1000;
/** HEAD requests in flight for `ls --long`. */
const HEAD_CONCURRENCY = 8;

export function infoFromHeaders(id: string | number, h: Headers): ObjectInfo {
  const info: ObjectInfo = { id };
  const len = h.get("content-length");
  if (len !== null && /^\d+$/.test(len)) info.size = Number(len);
  info.contentType = h.get("content-type") ?? undefined;
  info.etag = h.get("etag") ?? undefined;
  const lm = h.get("last-modified");
  if (lm) info.modified = formatDate(lm);
  // API.md does not name a key-version header yet; take whichever the server exposes.
  for (const [name, value] of h) {
    if (/key-version$/i.test(name)) info.keyVersion = /^\d+$/.test(value) ? Number(value) : value;
  }
  return info;
}

export async function headObject(client: ApiClient, id: string | number): Promise<ObjectInfo> {
  const res = await client.request(objectPath(String(id)), { method: "HEAD", notFound: String(id) });
  return infoFromHeaders(id, res.headers);
}

/** Yields every id page by page, following Link rel="next" (same server only). */
export async function* listIds(
  client: ApiClient,
  pageSize: number,
  prefix?: string,
): AsyncGenerator<(string | number)[]> {
  let url = client.url("/data", { limit: pageSize, prefix }).href;
  for (;;) {
    const res = await client.request(url);
    const page = (await res.json()) as unknown;
    if (!Array.isArray(page)) throw new Error("GET /data did not answer a JSON array");
    yield page as (string | number)[];
    const link = nextLink(res.headers.get("link"));
    if (!link || page.length === 0) return;
    url = new URL(link, res.url || url).href;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function longRow(i: ObjectInfo): string[] {
  return [
    i.size !== undefined ? formatBytes(i.size) : "-",
    i.contentType ?? "-",
    i.modified ?? "-",
    String(i.id),
  ];
}

interface LsOptions {
  prefix?: string;
  long?: boolean;
  limit?: number;
  pageSize?: number;
}

export function registerLs(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("list your object ids (every page)")
    .option("--prefix <p>", "only ids starting with this")
    .option("-l, --long", "also show size, type and modification time (one HEAD request per id)")
    .option("--limit <n>", "stop after n ids", positiveInt)
    .option(
      "--page-size <n>",
      `ids per request (default ${PAGE_SIZE}; the server allows up to 10000)`,
      positiveInt,
    )
    .addHelpText(
      "after",
      "\nGET /data returns ids only, so --long asks HEAD for each id. --prefix is sent to the server\n" +
        "(?prefix=) and applied here as well, for servers that ignore it.",
    )
    .action(async (opts: LsOptions) => {
      const client = ctx.client();
      const out = ctx.out;
      const pageSize = Math.min(opts.limit ?? Number.POSITIVE_INFINITY, opts.pageSize ?? PAGE_SIZE);
      let shown = 0;
      let first = true;
      // "[" only after the first page arrived, so a failed listing prints no half document.
      for await (const page of listIds(client, pageSize, opts.prefix)) {
        // Filtered here too: API.md does not promise the server honours ?prefix=.
        let ids = opts.prefix ? page.filter((id) => String(id).startsWith(opts.prefix as string)) : page;
        if (opts.limit !== undefined) ids = ids.slice(0, opts.limit - shown);
        shown += ids.length;
        let entries: (string | number | ObjectInfo)[] = ids;
        if (opts.long) {
          entries = await mapLimit(ids, HEAD_CONCURRENCY, async (id) => {
            try {
              return await headObject(client, id);
            } catch (err) {
              // Deleted between the listing and the HEAD, or a JSON item without object headers.
              if ((err as { exitCode?: number }).exitCode === 3) return { id };
              throw err;
            }
          });
        }
        if (out.json) {
          for (const e of entries) {
            await out.write(`${first ? "[" : ","}${JSON.stringify(e)}`);
            first = false;
          }
        } else if (entries.length) {
          const lines = opts.long ? table((entries as ObjectInfo[]).map(longRow)) : entries.map(String);
          await out.write(`${lines.join("\n")}\n`);
        }
        if (opts.limit !== undefined && shown >= opts.limit) break;
      }
      if (out.json) await out.write(first ? "[]\n" : "]\n");
    });

  program
    .command("stat")
    .description("show an object's size, type, etag, modification time and key version (HEAD)")
    .argument("<id>", "object id")
    .action(async (id: string) => {
      const info = await headObject(ctx.client(), id);
      await ctx.out.result(info, () =>
        table([
          ["id", String(info.id)],
          ["size", info.size !== undefined ? `${info.size} (${formatBytes(info.size)})` : "-"],
          ["type", info.contentType ?? "-"],
          ["etag", info.etag ?? "-"],
          ["modified", info.modified ?? "-"],
          ...(info.keyVersion !== undefined ? [["keyVersion", String(info.keyVersion)]] : []),
        ]),
      );
    });

  program
    .command("rm")
    .description("delete an object")
    .argument("<id>", "object id")
    .action(async (id: string) => {
      await ctx.client().request(objectPath(id), { method: "DELETE", notFound: id });
      await ctx.out.result({ id, deleted: true }, `deleted ${id}`);
    });
}
