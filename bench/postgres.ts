// The PostgreSQL of a `--store postgres` run: the server named by --database-url / SSE_DATABASE_URL
// (its role must be allowed to CREATE DATABASE), or an embedded PostgreSQL 17 started for the run
// with its data dir under --data-root, so that it writes to the same disk as the SQLite figures.
// Every server under test gets a database of its own, dropped when it stops. The embedded server's
// CPU counts as the system under test's, not as other load.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import {
  adminQuery,
  databaseUrl,
  type PostgresServer,
  startEmbeddedPostgres,
} from "../test/helpers/postgres-server.js";
import { countAsPartOfTheTest } from "./cpu-usage.js";

export interface BenchPostgres {
  /** "embedded PostgreSQL 17.x" or "PostgreSQL 16.x at host:port". */
  describe: string;
  /** A fresh, empty database; `drop` removes it. */
  newDatabase(): Promise<{ url: string; drop(): Promise<void> }>;
  stop(): Promise<void>;
}

export async function provisionPostgres(
  adminUrl: string | undefined,
  dataRoot: string,
): Promise<BenchPostgres> {
  let server: PostgresServer | undefined;
  let dir: string | undefined;
  if (!adminUrl) {
    dir = mkdtempSync(path.join(dataRoot, "sse-bench-pg-"));
    server = await startEmbeddedPostgres({ parentDir: dir });
    adminUrl = server.adminUrl;
  }
  const admin = adminUrl;
  const [row] = await adminQuery<{ version: string }>(
    admin,
    "SELECT current_setting('server_version') AS version",
  );
  const version = row?.version ?? "?";
  const where = new URL(admin);
  // Its CPU is the store's work, not noise from other processes.
  const pid = server?.pid();
  const forget = pid === undefined ? undefined : countAsPartOfTheTest(pid);
  return {
    describe: server
      ? `embedded PostgreSQL ${version} in ${dir}`
      : `PostgreSQL ${version} at ${where.hostname}:${where.port || 5432}`,
    async newDatabase() {
      const name = `sse_bench_${randomBytes(5).toString("hex")}`;
      await adminQuery(admin, `CREATE DATABASE ${name}`);
      return {
        url: databaseUrl(admin, name),
        drop: async () => {
          await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
    async stop() {
      forget?.();
      await server?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
