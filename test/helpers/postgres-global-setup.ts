// vitest global setup: one PostgreSQL for the whole run (embedded, or SSE_TEST_POSTGRES_URL), shared
// by every test file through inject("postgresAdminUrl"); stopped and removed when the run ends.
import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./postgres-server.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestPostgres();
  project.provide("postgresAdminUrl", server.adminUrl);
  return () => server.destroy();
}
