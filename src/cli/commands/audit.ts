// `ssestore audit verify|export|prune`: offline, on the stored log (the data directory's objects.db
// or PostgreSQL), with no server running and no key but the public one.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parsePublicKey } from "../../audit/audit-keys.js";
import { allRecords, openLogSource } from "../../audit/log-source.js";
import { parseBody } from "../../audit/record.js";
import { ChainVerifier } from "../../audit/verify.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode, usageError } from "../errors.js";

interface WhereOptions {
  dataDir?: string;
  databaseUrl?: string;
}

function where(o: WhereOptions): WhereOptions {
  if (!o.dataDir && !o.databaseUrl) throw usageError("name the log: --data-dir DIR or --database-url URL");
  return o;
}

function readFileOrFail(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw usageError(
      `cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`,
    );
  }
}

function dateOption(value: string, name: string): number {
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw usageError(`${name} must be a date or an ISO 8601 time`);
  return t;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("verify, export and prune the audit log (offline)");
  const source = (c: Command) =>
    c
      .option("--data-dir <dir>", "the server's data directory (its objects.db)")
      .option("--database-url <url>", "the server's PostgreSQL database");

  source(audit.command("verify"))
    .description("check every record's hash and link, and every checkpoint's signature; exit 0 when intact")
    .requiredOption("--public-key <file>", "the key GET /admin/audit/public-key serves")
    .option("--checkpoints <file>", "the checkpoints written outside the database (SSE_AUDIT_EXPORT)")
    .action(async (o: WhereOptions & { publicKey: string; checkpoints?: string }) => {
      let key: Buffer;
      try {
        key = parsePublicKey(readFileOrFail(o.publicKey, "public key"));
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw usageError(`${o.publicKey}: ${(err as Error).message}`);
      }
      const src = await openLogSource(where(o));
      try {
        const v = new ChainVerifier(key);
        for await (const r of allRecords(src)) if (!v.add(r)) break;
        if (o.checkpoints) {
          const lines = readFileOrFail(o.checkpoints, "checkpoint file").split("\n");
          try {
            await v.checkExported(lines, (seq) => src.hashOf(seq));
          } catch (err) {
            throw new CliError((err as Error).message, ExitCode.integrity);
          }
        }
        const r = v.result;
        if (!r.ok) {
          await ctx.out.result(r, `audit log BROKEN at record ${r.broken!.seq}: ${r.broken!.reason}`);
          throw new CliError(`the audit log breaks at record ${r.broken!.seq}`, ExitCode.integrity);
        }
        const tail =
          r.last > r.lastCheckpointed
            ? `; ${r.last - r.lastCheckpointed} records after the last checkpoint`
            : "";
        await ctx.out.result(
          r,
          `audit log intact: ${r.records} records, ${r.checkpoints} signed checkpoints, up to ${r.last}${tail}`,
        );
      } finally {
        await src.close();
      }
    });

  source(audit.command("export"))
    .description("write the events as JSON lines (for a SIEM)")
    .option("--since <time>", "only events at or after this time")
    .option("--format <format>", "jsonl (the only format)", "jsonl")
    .action(async (o: WhereOptions & { since?: string; format: string }) => {
      if (o.format !== "jsonl") throw usageError("--format must be jsonl");
      const since = o.since === undefined ? undefined : dateOption(o.since, "--since");
      const src = await openLogSource(where(o));
      try {
        for await (const r of allRecords(src)) {
          if (since !== undefined && r.time < since) continue;
          await ctx.out.write(`${JSON.stringify({ ...parseBody(r.body), hash: r.hash })}\n`);
        }
      } finally {
        await src.close();
      }
    });

  source(audit.command("prune"))
    .description(
      "remove the events before a date, behind the last signed checkpoint before it (stop the server first on SQLite)",
    )
    .requiredOption("--before <date>", "remove events older than this")
    .action(async (o: WhereOptions & { before: string }) => {
      const before = dateOption(o.before, "--before");
      const src = await openLogSource(where(o), { write: true });
      try {
        // The chain that remains must start at a checkpoint: the last one written before the date.
        let cut = 0;
        for await (const r of allRecords(src)) {
          if (r.time >= before) break;
          if (parseBody(r.body)?.kind === "checkpoint") cut = r.seq;
        }
        const removed = cut > 0 ? await src.pruneBefore(cut) : 0;
        await ctx.out.result(
          { removed, startsAt: cut || null },
          cut > 0
            ? `removed ${removed} events; the log now starts at checkpoint ${cut}`
            : "no checkpoint before that date: nothing removed",
        );
      } finally {
        await src.close();
      }
    });
}
