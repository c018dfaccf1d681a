// Runs the store contracts against the PostgreSQL adapters, on a database of this file's own on the
// run's PostgreSQL; each test gets fresh schemas. PostgreSQL-only behaviour is tested below.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { PostgresKeyStore } from "../../src/store/postgres/postgres-key-store.js";
import { PostgresObjectStore } from "../../src/store/postgres/postgres-object-store.js";
import { adminQuery, createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { keyStoreContract } from "./key-store.contract.js";
import { objectStoreContract } from "./object-store.contract.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const freshSchema = () => `t_${randomBytes(6).toString("hex")}`;
const dropSchema = (schema: string) => adminQuery(db.url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);

objectStoreContract("postgres", async () => {
  const schema = freshSchema();
  // No grace period: the contract is about one process, whose own busy set is exact.
  const store = await PostgresObjectStore.open(db.url, { schema, trashGraceMs: 0 });
  return {
    store,
    async cleanup() {
      await store.close();
      await dropSchema(schema);
    },
  };
});

keyStoreContract("postgres", async () => {
  const schema = freshSchema();
  const store = await PostgresKeyStore.open(db.url, { schema });
  return {
    store,
    async cleanup() {
      await store.close();
      await dropSchema(schema);
    },
  };
});
