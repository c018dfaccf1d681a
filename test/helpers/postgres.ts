// Test-side PostgreSQL helpers: a fresh database per suite on the run's shared server (started once
// by postgres-global-setup.ts), or on a server of the test's own (the outage test stops it).
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { adminQuery, databaseUrl } from "./postgres-server.js";

export { adminQuery, databaseUrl, type PostgresServer, startEmbeddedPostgres } from "./postgres-server.js";

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database, cutting whatever is still connected to it. */
  drop(): Promise<void>;
}

/** A new, empty database on the server (default: the run's shared one). */
export async function createTestDatabase(
  adminUrl: string = inject("postgresAdminUrl"),
): Promise<TestDatabase> {
  const name = `sse_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  return {
    url: databaseUrl(adminUrl, name),
    name,
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL (see test/helpers/postgres-global-setup.ts). */
    postgresAdminUrl: string;
  }
}
