import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One real PostgreSQL for the whole run; each suite creates its own database on it.
    globalSetup: ["test/helpers/postgres-global-setup.ts"],
    // Native addons (sodium, sqlite, pkcs11) are safest in child processes.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end files start real servers; keep the machine responsive.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
