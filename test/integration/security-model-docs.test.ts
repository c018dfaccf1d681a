// The security model in README.md and docs/FORMAT.md must name every column the stores keep in
// clear: a column added to the schema without saying whether it is encrypted, authenticated or
// in clear fails here, on the schema a real SQLite store creates.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStores } from "../../src/store/sqlite/open.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The part of a markdown file from `heading` to the next heading of the same level. */
function section(file: string, heading: string): string {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const at = text.indexOf(heading);
  expect(at, `${file} has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0];
  const next = text.slice(at + heading.length).search(new RegExp(`\\n${level} `));
  return (next < 0 ? text.slice(at) : text.slice(at, at + heading.length + next)).toLowerCase();
}

// Each stored column, and the words that describe it in the security model. Objects are
// described in FORMAT.md's metadata table, accounts and keys in the README's.
const OBJECTS: Record<string, string> = {
  owner: "owner",
  id: "object id",
  num: "integer id index",
  kind: "kind",
  size: "size",
  content_type: "content type",
  etag: "etag",
  created: "created",
  modified: "modified",
  write_id: "write id",
  format_version: "format version",
  suite: "suite",
  segment_size: "segment size",
  kek_version: "kek version",
  wrapped_dek: "wrapped dek",
  sealed_meta: "sealed metadata",
};
const ACCOUNTS: Record<string, Record<string, string>> = {
  users: {
    uid: "users: id",
    name: "name",
    role: "role",
    created: "creation time",
    enrolled_at: "enrollment time",
  },
  tokens: {
    id: "tokens: id",
    uid: "owner",
    label: "label",
    scopes: "scopes",
    secret_hash: "sha-256 hash",
    created: "creation",
    last_used: "last use",
    expires_at: "expiry",
    issued_by: "who issued it",
  },
  access_keys: {
    id: "access keys: id",
    uid: "owner",
    label: "label",
    scopes: "scopes",
    kek_version: "kek version",
    wrapped_secret: "s3 access key secrets",
    created: "creation",
    last_used: "last use",
    expires_at: "expiry",
    issued_by: "who issued it",
  },
};

// The tables of S3 buckets and multipart uploads, in the README's table too.
const S3_TABLES: Record<string, Record<string, string>> = {
  buckets: { owner: "owner", name: "buckets (name", created: "creation" },
  multipart_uploads: {
    upload_id: "upload id",
    owner: "owner",
    id: "object id",
    write_id: "write id",
    format_version: "format",
    suite: "suite",
    segment_size: "segment size",
    kek_version: "key version",
    wrapped_dek: "upload's dek wrapped",
    content_type: "content type",
    sealed_meta: "`sealed_meta`",
    created: "start",
  },
  multipart_parts: {
    upload_id: "the parts of uploads",
    number: "number",
    write_id: "part write id",
    size: "size",
    sealed_info: "`sealed_info`",
    created: "time",
  },
  object_parts: { write_id: "of multipart objects", number: "number", part_write_id: "part write id" },
  manifests: { write_id: "multipart manifests", sealed: "`manifests`" },
};

let dir: string;
let db: Database.Database;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sse-model-"));
  await openSqliteStores(dir).close();
  db = new Database(path.join(dir, "objects.db"), { readonly: true });
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function columns(table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

describe("the security model", () => {
  it("says which object metadata is in clear and which is authenticated, column by column", () => {
    const table = section("docs/FORMAT.md", "### Metadata outside the segments");
    for (const column of columns("objects")) {
      const words = OBJECTS[column];
      expect(
        words,
        `objects.${column} is stored but not in FORMAT.md's "Metadata outside the segments"`,
      ).toBeDefined();
      expect(table, `objects.${column}`).toContain(words!);
    }
    expect(table).toContain("in clear");
    expect(table).toMatch(/content type\s*\|\s*yes\s*\|\s*no/);
  });

  it("names every account field the database keeps in clear", () => {
    const model = section("README.md", "## Security model");
    for (const [name, described] of Object.entries(ACCOUNTS))
      for (const column of columns(name)) {
        const words = described[column];
        expect(words, `${name}.${column} is stored but not in the README's security model`).toBeDefined();
        expect(model, `${name}.${column}`).toContain(words!);
      }
  });

  it("names every field of buckets and multipart uploads the database keeps", () => {
    const model = section("README.md", "## Security model");
    for (const [name, described] of Object.entries(S3_TABLES))
      for (const column of columns(name)) {
        const words = described[column];
        expect(words, `${name}.${column} is stored but not in the README's security model`).toBeDefined();
        expect(model, `${name}.${column}`).toContain(words!);
      }
  });

  it("never again claims that everything at rest is encrypted", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8").toLowerCase();
    expect(readme).not.toContain("everything at rest is encrypted");
    const model = section("README.md", "## Security model");
    for (const inClear of ["object ids", "content-type", "size", "times", "users", "label"])
      expect(model, inClear).toContain(inClear);
    expect(model).toContain("why the content type is not authenticated yet");
  });
});
